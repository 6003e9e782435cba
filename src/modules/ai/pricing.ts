import { AppError } from "../../platform/errors";
import { chargeOf } from "../billing/api";
import type { ChatRequest } from "./providers/types";
import type { Model } from "./registry";

/**
 * What a chat request may cost, before it runs, and what it did cost after. Prices are US$
 * per million tokens, which is millicredits per token (1 millicredit = US$0.000001). The
 * unrounded cost is kept in the usage row; the charge is rounded up once, to a millicredit.
 */

/** Fewer answer tokens than this is not worth a call: 402 instead. */
const MIN_OUTPUT_TOKENS = 16;

/** What an image input may cost at most, in tokens (a high-detail image at OpenAI's rates). */
const IMAGE_TOKENS = 1_105;

/**
 * Tokens of a text, overestimated: 3 ASCII characters a token (below tokenizers' ~4 for
 * English and code) and a token for every other character (CJK scripts run near one a
 * character; accented letters cost less than that).
 */
export function textTokens(text: string): number {
  let ascii = 0;
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) < 128) ascii++;
  return Math.ceil(ascii / 3) + (text.length - ascii);
}

/** An upper estimate of a request's input tokens: its messages, tool definitions and response schema. */
export function estimateInputTokens(request: Pick<ChatRequest, "messages" | "tools" | "responseFormat">): number {
  let tokens = 0;
  for (const message of request.messages) {
    tokens += 4;
    if (message.role === "assistant") {
      tokens += textTokens(message.content ?? "");
      for (const call of message.toolCalls ?? []) tokens += textTokens(call.name + call.arguments);
    } else if (typeof message.content === "string") {
      tokens += textTokens(message.content);
    } else {
      for (const part of message.content) tokens += part.type === "text" ? textTokens(part.text) : IMAGE_TOKENS;
    }
  }
  for (const tool of request.tools ?? []) tokens += textTokens(JSON.stringify(tool));
  if (request.responseFormat?.type === "json_schema")
    tokens += textTokens(JSON.stringify(request.responseFormat.schema));
  return tokens;
}

/** The highest prices among the deployments a request may end up on. */
function ceilingPrices(deployments: readonly Model[]) {
  return {
    inputPerMillion: Math.max(...deployments.map((model) => model.prices.inputPerMillion)),
    outputPerMillion: Math.max(...deployments.map((model) => model.prices.outputPerMillion)),
  };
}

/** Unrounded millicredits. */
export const costOf = (prices: Model["prices"], inputTokens: number, outputTokens: number) =>
  inputTokens * prices.inputPerMillion + outputTokens * prices.outputPerMillion;

/**
 * How many answer tokens to allow and how much to hold: what the client asked (or the model's
 * default), no more than the model allows, and no more than the account can pay for at the
 * highest price among the deployments. 402 when not even a minimal answer is affordable.
 */
export function budgetOf(input: {
  deployments: readonly Model[];
  inputTokens: number;
  requestedMaxTokens: number | undefined;
  n: number;
  availableMillicredits: number;
}) {
  const [model] = input.deployments;
  if (!model) throw new Error("a request needs a deployment");
  const prices = ceilingPrices(input.deployments);
  const inputCost = costOf(prices, input.inputTokens, 0);
  const affordable =
    prices.outputPerMillion === 0
      ? Number.POSITIVE_INFINITY
      : Math.floor((input.availableMillicredits - inputCost) / (prices.outputPerMillion * input.n));
  const maxTokens = Math.min(input.requestedMaxTokens ?? model.defaultMaxOutput, model.maxOutput, affordable);
  const wanted = Math.min(input.requestedMaxTokens ?? MIN_OUTPUT_TOKENS, MIN_OUTPUT_TOKENS);
  if (maxTokens < wanted) {
    throw new AppError("insufficient_credits", "Your credits do not cover a minimal answer from this model.", {
      headers: { "x-should-retry": "false" },
    });
  }
  return { maxTokens, hold: chargeOf(inputCost + costOf(prices, 0, maxTokens * input.n)) };
}

/** Millicredits for audio: US$ per minute × 1 000 000 (1 millicredit = US$0.000001). */
export const audioCostOf = (prices: Model["prices"], seconds: number) =>
  ((prices.perAudioMinute ?? 0) * 1_000_000 * seconds) / 60;

/** Millicredits for speech: US$ per million characters is millicredits per character. */
export const speechCostOf = (prices: Model["prices"], characters: number) =>
  (prices.perMillionCharacters ?? 0) * characters;

/**
 * Millicredits for images: the model's price per image, doubled for HD or a large size (the
 * ratio at OpenAI's list prices).
 */
export function imagesCostOf(prices: Model["prices"], count: number, size: string, quality: string): number {
  const factor = quality === "hd" || size !== "1024x1024" ? 2 : 1;
  return (prices.perImage ?? 0) * 1_000_000 * factor * count;
}
