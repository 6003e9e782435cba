import type { ErrorCode } from "../../platform/errors";

/**
 * What every AI call may answer besides the usual, for its route contract: spending credits,
 * reaching providers, and a provider's refusal of the request (with its reason when it is one of
 * the codes passed on, see `fallbacks.ts`).
 */
export const AI_CALL_ERRORS: ErrorCode[] = [
  "model_not_found",
  "insufficient_credits",
  "budget_exceeded",
  "provider_unavailable",
  "context_length_exceeded",
  "content_filter",
  "invalid_image",
];
