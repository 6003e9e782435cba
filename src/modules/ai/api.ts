/**
 * ai's face: what other modules may use of it, and the only file they import. Completions for
 * Stratus's own modules (translation's AI provider, within their own hold), the caller a request
 * pays as, the models, and what ai deletes with an org.
 */

export { complete } from "./chat/complete";
export { aiConfig } from "./config";
export { type AiCaller, callerOf } from "./metering";
export { deleteOrgRows } from "./org-cleanup";
export { budgetOf, estimateInputTokens } from "./pricing";
export type { ChatRequest } from "./providers/types";
export { deploymentsOf, type Model } from "./registry";
