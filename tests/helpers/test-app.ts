import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { createApp } from "../../src/app";
import { BASE_URL, withClientIp } from "./client";

/**
 * The real app (every middleware, error handler and router) with routes a test adds, for
 * platform behaviour that no production route exercises yet. Called with the real bindings.
 */
export function testApp() {
  const app = createApp();
  const call = async (path: string, init: RequestInit = {}, bindings: Env = env) => {
    const ctx = createExecutionContext();
    const url = path.startsWith("http") ? path : `${BASE_URL}${path}`;
    const response = await app.request(url, { ...init, headers: withClientIp(init.headers) }, bindings, ctx);
    // The body first, as a client reads it: work left to `waitUntil` (a stream's settlement) may wait on it.
    const text = await response.text();
    await waitOnExecutionContext(ctx);
    let body: unknown = text;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      // Not JSON.
    }
    return { status: response.status, headers: response.headers, body: body as Record<string, unknown>, text };
  };
  return { app, call };
}
