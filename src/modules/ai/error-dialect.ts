import type { ErrorDialect } from "../../platform/problem";

/**
 * The OpenAI-compatible routes answer errors in OpenAI's `{"error": {message, type, code,
 * param}}` shape, middleware errors included (ARCHITECTURE.md, Conventions). OpenAI's shape has
 * no list of field errors: the first one joins the message, its path is `param`.
 */

function openAiType(status: number): string {
  if (status === 401) return "authentication_error";
  if (status === 402) return "insufficient_quota";
  if (status === 403) return "permission_error";
  if (status === 429) return "rate_limit_error";
  if (status >= 500) return "server_error";
  return "invalid_request_error";
}

export const openAiErrors: ErrorDialect = {
  prefixes: ["/v1/chat/", "/v1/embeddings", "/v1/models", "/v1/images/", "/v1/audio/"],
  render: (error) => ({
    body: {
      error: {
        message: error.errors?.[0]
          ? `${error.detail} ${error.errors[0].path}: ${error.errors[0].message}`
          : error.detail,
        type: openAiType(error.status),
        code: error.code,
        param: error.errors?.[0]?.path ?? null,
      },
    },
    contentType: "application/json",
  }),
};
