import type { Context } from "hono";
import type { AppError, ErrorCode } from "./errors";

/**
 * Rendering of errors. Every non-2xx answer is RFC 9457 problem+json, except route groups that
 * speak another wire format, which their modules declare (`ErrorDialect`).
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

function toProblem(error: AppError, requestId: string): Problem {
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

/** How a route group renders an error: its body and content type. */
export type Renderer = (error: AppError, requestId: string) => { body: unknown; contentType: string };

/**
 * A route group that speaks another wire format (the OpenAI-compatible routes), chosen by path
 * so that errors raised by middleware, before any handler, match too. Modules declare theirs
 * (`Module.errorDialect`); the app hands them over with `useErrorDialects`.
 */
export type ErrorDialect = { prefixes: readonly string[]; render: Renderer };

const renderProblem: Renderer = (error, requestId) => ({
  body: toProblem(error, requestId),
  contentType: "application/problem+json",
});

let dialects: readonly ErrorDialect[] = [];

/** The app gives the modules' dialects here once, at start (platform code may not import modules). */
export function useErrorDialects(next: readonly ErrorDialect[]): void {
  dialects = next;
}

function rendererFor(path: string): Renderer {
  return (
    dialects.find((dialect) => dialect.prefixes.some((prefix) => path.startsWith(prefix)))?.render ?? renderProblem
  );
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
