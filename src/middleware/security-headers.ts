import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../platform/context";

/**
 * Headers every answer carries. A handler that needs another policy (the /docs page's CSP)
 * sets its own header first; defaults never overwrite it.
 */
const DEFAULTS: Record<string, string> = {
  "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
  "Strict-Transport-Security": "max-age=31536000; includeSubDomains",
  "X-Content-Type-Options": "nosniff",
  "X-Frame-Options": "DENY",
  "Referrer-Policy": "no-referrer",
  "Cross-Origin-Opener-Policy": "same-origin",
  "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
};

export const securityHeaders = createMiddleware<AppEnv>(async (c, next) => {
  await next();
  for (const [name, value] of Object.entries(DEFAULTS)) {
    if (!c.res.headers.has(name)) c.res.headers.set(name, value);
  }
});
