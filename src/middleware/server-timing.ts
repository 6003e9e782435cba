import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../platform/context";

/**
 * `Server-Timing: handler;dur=…`: the time spent below the global middleware. Workers
 * clocks advance only across I/O, so pure CPU work reads as 0.
 */
export const serverTiming = createMiddleware<AppEnv>(async (c, next) => {
  const started = performance.now();
  await next();
  const duration = performance.now() - started;
  c.res.headers.append("Server-Timing", `handler;dur=${duration.toFixed(1)}`);
});
