import { z } from "zod";
import type { ChatPart } from "./types";

/**
 * What every AI adapter checks the same way in an upstream's answer. Counts a provider reports
 * are believed only as whole numbers within bounds: a negative or absurd count would be a free
 * or ruinous call. Counts that fail are rejected (the module charges its own estimate and its
 * usage row says so); the rest of an answer that fails its schema is a fault of the provider.
 */

/** More tokens than this in one call is not believed: no model's context window comes near. */
const MAX_REPORTED_TOKENS = 10_000_000;

export const TokenCount = z.number().int().min(0).max(MAX_REPORTED_TOKENS);

/** The most tool calls one answer may carry (OpenAI allows 128 tools per request). */
export const MAX_TOOL_CALLS = 128;

/** The provider's token counts as a part, or their rejection when either is not a believable count. */
export function usagePart(inputTokens: unknown, outputTokens: unknown): ChatPart {
  const input = TokenCount.safeParse(inputTokens);
  const output = TokenCount.safeParse(outputTokens);
  if (input.success && output.success) return { type: "usage", inputTokens: input.data, outputTokens: output.data };
  return { type: "usage_rejected" };
}
