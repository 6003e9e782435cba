/**
 * ai's face: what other modules may use of it, and the only file they import. Completions for
 * Stratus's own modules (translation's AI provider, paid within their own hold), sizing such a
 * call, the models, ai's config keys, and what ai deletes with an org.
 */

export { complete } from "./chat/complete";
export { aiConfig } from "./config";
export { deleteOrgRows } from "./org-cleanup";
export { budgetOf, estimateInputTokens } from "./pricing";
export type { ChatRequest } from "./providers/types";
export { deploymentsOf, type Model } from "./registry";
export { USAGE_SINK, usageSink } from "./usage";
