import type { Context } from "hono";
import type { AppError, ErrorCode } from "./errors";

/**
 * Rendering of errors. Every non-2xx answer is RFC 9457 problem+json, except route groups
 * that speak another wire format: the OpenAI-compatible routes answer OpenAI's error shape,
 * chosen by path so that errors raised by middleware, before any handler, match too.
 */

export type Problem = {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: ErrorCode;
  requestId: string;
  errors?: { path: string; message: string }[];
  [extension: string]: unknown;
};

export function toProblem(error: AppError, requestId: string): Problem {
  return {
    ...error.extensions,
    type: `urn:stratus:problem:${error.code}`,
    title: error.title,
    status: error.status,
    detail: error.detail,
    code: error.code,
    requestId,
    ...(error.errors ? { errors: error.errors } : {}),
  };
}

type Renderer = (error: AppError, requestId: string) => { body: unknown; contentType: string };

const renderProblem: Renderer = (error, requestId) => ({
  body: toProblem(error, requestId),
  contentType: "application/problem+json",
});

function openAiType(status: number): string {
  if (status === 401) return "authentication_error";
  if (status === 402) return "insufficient_quota";
  if (status === 403) return "permission_error";
  if (status === 429) return "rate_limit_error";
  if (status >= 500) return "server_error";
  return "invalid_request_error";
}

/** OpenAI's shape has no list of field errors: the first one joins the message, its path is `param`. */
const renderOpenAi: Renderer = (error) => ({
  body: {
    error: {
      message: error.errors?.[0] ? `${error.detail} ${error.errors[0].path}: ${error.errors[0].message}` : error.detail,
      type: openAiType(error.status),
      code: error.code,
      param: error.errors?.[0]?.path ?? null,
    },
  },
  contentType: "application/json",
});

/** Path prefixes of the OpenAI-compatible API (ARCHITECTURE.md, Conventions). */
const OPENAI_PREFIXES = ["/v1/chat/", "/v1/embeddings", "/v1/models", "/v1/images/", "/v1/audio/"];

export function rendererFor(path: string): Renderer {
  return OPENAI_PREFIXES.some((prefix) => path.startsWith(prefix)) ? renderOpenAi : renderProblem;
}

/** Builds the error response for `error` in the shape the request's route group speaks. */
export function errorResponse(c: Context, error: AppError): Response {
  const requestId = (c.get("requestId") as string | undefined) ?? "";
  const { body, contentType } = rendererFor(c.req.path)(error, requestId);
  const headers = new Headers(error.headers);
  headers.set("Content-Type", contentType);
  headers.set("Cache-Control", "no-store");
  return new Response(JSON.stringify(body), { status: error.status, headers });
}
