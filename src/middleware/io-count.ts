import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../platform/context";
import { countingEnv, IoCounter } from "../platform/io-count";

/**
 * `Server-Timing: d1;desc="N", do;desc="M"` in development and tests (never in production,
 * where this does nothing, nor with `IO_COUNT=off`): the D1 statements the request executed and its sequential Durable
 * Object round trips (calls that overlap count once) before its priced work began (the upstream
 * call, once its credits are held: `markWorkStarted`), or else before its answer started. The request
 * sees a copy of `c.env` whose D1 and Durable Object namespace bindings count
 * (`src/platform/io-count.ts`). The counts are read once the handler has answered: work done
 * later (in `waitUntil`, or while a stream is being written) is not in the header, already sent.
 * A statement or call counts when it is issued, so one fired before the answer counts even when
 * nothing waits for it (a `waitUntil` write issued before any `await`).
 */
export const ioCount = createMiddleware<AppEnv>(async (c, next) => {
  const config = c.get("config");
  if (config.ENVIRONMENT === "production" || config.IO_COUNT === "off") return next();
  const counter = new IoCounter();
  c.env = countingEnv(c.env, counter);
  await next();
  const counts = counter.beforeWorkOrNow();
  const headers = c.res.headers;
  headers.append("Server-Timing", `d1;desc="${counts.d1}"`);
  headers.append("Server-Timing", `do;desc="${counts.do}"`);
});
