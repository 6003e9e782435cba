import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../platform/context";

/**
 * Headers every answer carries: the set the OWASP REST Security Cheat Sheet asks of a JSON
 * API. Document-only headers (Permissions-Policy, COOP) are left out: every byte of header
 * is paid on each response, and the bench showed header size, not middleware, dominating the
 * cost of small answers. A handler that needs another Content-Security-Policy (the /docs
 * page) sets its own; the default never overwrites it.
 */
const CSP = "Content-Security-Policy";
const DEFAULT_CSP = "default-src 'none'; frame-ancestors 'none'";
const CACHE_CONTROL = "Cache-Control";
const HEADERS: readonly [string, string][] = [
  ["Strict-Transport-Security", "max-age=31536000; includeSubDomains"],
  ["X-Content-Type-Options", "nosniff"],
  ["X-Frame-Options", "DENY"],
  ["Referrer-Policy", "no-referrer"],
];

export const securityHeaders = createMiddleware<AppEnv>(async (c, next) => {
  await next();
  const headers = c.res.headers;
  if (!headers.has(CSP)) headers.set(CSP, DEFAULT_CSP);
  // Answers are per caller: no shared cache keeps one unless its handler says so.
  if (!headers.has(CACHE_CONTROL)) headers.set(CACHE_CONTROL, "no-store");
  for (const [name, value] of HEADERS) headers.set(name, value);
});
