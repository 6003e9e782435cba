import type { Context, ErrorHandler, NotFoundHandler } from "hono";
import { HTTPException } from "hono/http-exception";
import { PatternRouter } from "hono/router/pattern-router";
import type { AppEnv } from "./context";
import { AppError, type ErrorCode } from "./errors";
import { KeptAnswer, replayOf } from "./idempotency/middleware";
import { createLogger, describeError } from "./logger";
import { errorResponse } from "./problem";

const HTTP_EXCEPTION_CODES: Record<number, ErrorCode> = {
  401: "unauthorized",
  403: "forbidden",
  404: "not_found",
  405: "method_not_allowed",
  409: "conflict",
  413: "payload_too_large",
  415: "unsupported_media_type",
  429: "rate_limited",
};

/** The status logged for a request whose client left before its answer (nginx's convention). */
const CLIENT_CLOSED_REQUEST = 499;

/**
 * The one error handler. AppErrors render as they are, and a repeated request's kept answer is
 * replayed; anything else is logged with its stack and answered as a bare 500 carrying only
 * the request id.
 */
export const handleError: ErrorHandler<AppEnv> = (error, c) => {
  if (error instanceof AppError) return errorResponse(c, error);
  if (error instanceof KeptAnswer) {
    try {
      return replayOf(error.answer);
    } catch (refusal) {
      return errorResponse(c, refusal as AppError);
    }
  }
  if (error instanceof HTTPException && error.status < 500) {
    // Raised by Hono's own helpers: keep the meaning of the status, never the internals.
    const code = HTTP_EXCEPTION_CODES[error.status] ?? "validation_failed";
    return errorResponse(c, new AppError(code, error.message || "The request was refused."));
  }
  const logger = c.get("logger") ?? createLogger("error", { requestId: c.get("requestId") });
  if (c.req.raw.signal.aborted) {
    // The client left and its work was aborted with it: no one reads the answer, and it is no fault of ours.
    logger.info("client closed the request", { path: c.req.path });
    return new Response(null, { status: CLIENT_CLOSED_REQUEST });
  }
  logger.error("unhandled exception", { ...describeError(error), path: c.req.path });
  return errorResponse(
    c,
    new AppError("internal_error", "Something went wrong on our side. Quote the request id when reporting it."),
  );
};

const METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"] as const;

/**
 * 404 for unknown paths, 405 with `Allow` for known paths asked with another method. The
 * route table is read once, on the first miss, from the app's own routes.
 */
export function notFoundOrMethodNotAllowed(
  routes: () => readonly { method: string; path: string }[],
): NotFoundHandler<AppEnv> {
  let router: PatternRouter<string> | undefined;
  const allowedMethods = (path: string) => {
    if (!router) {
      router = new PatternRouter<string>();
      for (const route of routes()) {
        // Middleware is registered under ALL; only real handlers make a method allowed.
        if (route.method !== "ALL") router.add(route.method, route.path, route.method);
      }
    }
    const found = router;
    const allowed: string[] = METHODS.filter((method) => found.match(method, path)[0].length > 0);
    // Hono answers HEAD wherever it answers GET.
    return allowed.includes("GET") ? ["GET", "HEAD", ...allowed.slice(1)] : allowed;
  };
  return (c: Context<AppEnv>) => {
    const allowed = allowedMethods(c.req.path);
    if (allowed.length > 0) {
      return errorResponse(
        c,
        new AppError("method_not_allowed", `${c.req.method} is not allowed here; use ${allowed.join(", ")}.`, {
          headers: { Allow: allowed.join(", ") },
        }),
      );
    }
    return errorResponse(c, new AppError("not_found", `No route matches ${c.req.method} ${c.req.path}.`));
  };
}
