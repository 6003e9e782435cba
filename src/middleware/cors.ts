import type { MiddlewareHandler } from "hono";
import { cors as honoCors } from "hono/cors";
import type { AppEnv } from "../platform/context";

/** CORS for the origins in CORS_ORIGINS only; credentials are bearer tokens, never cookies. */
export const cors: MiddlewareHandler<AppEnv> = honoCors({
  origin: (origin, c) =>
    (c.get("config") as AppEnv["Variables"]["config"]).CORS_ORIGINS.includes(origin) ? origin : null,
  allowMethods: ["GET", "POST", "PUT", "PATCH", "DELETE"],
  allowHeaders: [
    "Authorization",
    "Content-Type",
    "Idempotency-Key",
    "X-Request-Id",
    "X-Stratus-Org",
    "OpenAI-Organization",
  ],
  exposeHeaders: ["X-Request-Id", "Retry-After", "Idempotent-Replayed", "Server-Timing"],
  maxAge: 600,
});
