import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../platform/context";
import { createLogger } from "../platform/logger";

/**
 * One JSON line per request: id, method, path (without the query, which may hold secrets),
 * matched route, status, duration, principal. Runs outermost but one, so it also logs
 * requests refused by bad configuration.
 */
export const requestLog = createMiddleware<AppEnv>(async (c, next) => {
  const started = performance.now();
  await next();
  const logger = c.get("logger") ?? createLogger("info", { requestId: c.get("requestId") });
  const status = c.res.status;
  const level = status >= 500 ? "error" : "info";
  if (!logger.enabled(level)) return;
  logger[level]("request", {
    method: c.req.method,
    path: c.req.path,
    route: c.req.routePath,
    status,
    durationMs: Math.round((performance.now() - started) * 100) / 100,
    userId: c.get("principal")?.id,
  });
});
