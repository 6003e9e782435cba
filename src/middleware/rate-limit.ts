import type { Context, MiddlewareHandler } from "hono";
import { createMiddleware } from "hono/factory";
import type { Account, AppEnv, Principal } from "../platform/context";
import { port } from "../platform/port";
import { consultLeased } from "../platform/rate-limit/leases";
import {
  consult,
  ipKey,
  type LimitCheck,
  rateLimitHeaders,
  refusal,
  type Unreachable,
} from "../platform/rate-limit/limiter";

/**
 * Request limiting, keyed by the most specific principal (API key › user › client IP), with the
 * per-minute limit of the route's class in the plan of the account the request acts for; an
 * org whose plan sets an org-wide cap is a second key, checked in parallel. Decided from
 * leases (`leases.ts`): a key's first request calls its limiter object, a busy key one call
 * per lease. Platform admins signed in (never their keys) are not limited.
 */

/** `webhook` routes are not limited: their callers are verified by signature instead. */
const ROUTE_CLASSES = ["default", "auth", "ai", "upload", "webhook"] as const;
export type RouteClass = (typeof ROUTE_CLASSES)[number];
export type LimitedClass = Exclude<RouteClass, "webhook">;

export type RequestLimits = {
  perMinute: Record<LimitedClass, number>;
  /** Over all of an org's members and keys together, when the org's plan sets one. */
  orgPerMinute: number | null;
};

/** The limits of an account's plan; `undefined` is an anonymous caller. */
export type LimitPolicy = (env: Env, account: Account | undefined) => Promise<RequestLimits>;

/** The plans module's policy, wired by the composition root (platform code may not import modules). */
export const limitPolicyPort = port<LimitPolicy>("the request limit policy (plans)");

const MINUTE_MS = 60_000;

function principalKey(c: Context<AppEnv>, principal: Principal | undefined): string {
  if (principal?.keyId) return `key:${principal.keyId}`;
  if (principal) return `usr:${principal.id}`;
  return ipKey(c.req.header("cf-connecting-ip"));
}

/**
 * Charges a failed authentication to the client IP's anonymous `auth` window, so floods of
 * bad tokens or keys are limited like sign-in attempts (they never reach `limitRequests`,
 * which runs after authentication). Past the limit the failure becomes a 429.
 */
export async function limitFailedAuthentication(c: Context<AppEnv>): Promise<void> {
  const limits = await limitPolicyPort.get()(c.env, undefined);
  const key = ipKey(c.req.header("cf-connecting-ip"));
  const checks = [{ key, windows: [{ name: "auth", limit: limits.perMinute.auth, windowMs: MINUTE_MS }] }];
  const consulted = await consult(c.env, checks, "fail_open", c.get("logger"));
  if (consulted && !consulted.verdict.allowed) throw refusal(consulted.verdict);
}

export function limitRequests(routeClass: LimitedClass, whenDown: Unreachable): MiddlewareHandler<AppEnv> {
  return createMiddleware<AppEnv>(async (c, next) => {
    const principal = c.get("principal");
    if (principal?.via === "session" && principal.platformRole === "admin") return next();
    const started = performance.now();
    const account = c.get("account");
    const limits = await limitPolicyPort.get()(c.env, account);
    // Acting for an org, a user has a budget per org: each org's plan sets its own limit.
    const window = account && account.id !== principal?.id ? `${routeClass}@${account.id}` : routeClass;
    const checks: LimitCheck[] = [
      {
        key: principalKey(c, principal),
        windows: [{ name: window, limit: limits.perMinute[routeClass], windowMs: MINUTE_MS }],
      },
    ];
    if (account?.type === "org" && limits.orgPerMinute !== null) {
      checks.push({
        key: `org:${account.id}`,
        windows: [{ name: "org", limit: limits.orgPerMinute, windowMs: MINUTE_MS }],
      });
    }
    const waitUntil = (work: Promise<unknown>) => c.executionCtx.waitUntil(work);
    const consulted = await consultLeased(c.env, checks, whenDown, c.get("logger"), waitUntil);
    if (!consulted) return next();
    const { verdict } = consulted;
    // Refused: what the other key took went back to its lease already.
    if (!verdict.allowed) throw refusal(verdict);
    const decidedIn = performance.now() - started;
    await next();
    const headers = c.res.headers;
    for (const [name, value] of Object.entries(rateLimitHeaders(verdict))) headers.set(name, value);
    headers.append("Server-Timing", `limit;dur=${decidedIn.toFixed(1)}`);
  });
}
