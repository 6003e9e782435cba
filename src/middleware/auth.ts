import type { RouteConfig } from "@hono/zod-openapi";
import type { Context, MiddlewareHandler } from "hono";
import { createMiddleware } from "hono/factory";
import type { Account, Actor, AppEnv, Principal, RequestContext } from "../platform/context";
import { AppError, type ErrorCode } from "../platform/errors";
import { defineRoute, type RouteOptions } from "../platform/openapi";
import { port } from "../platform/port";
import type { ApiKeyScope, OrgRole } from "./permissions";
import { limitFailedAuthentication } from "./rate-limit";

/**
 * Authentication: `Authorization: Bearer <access token | API key>` becomes one principal
 * type, then the request's account is resolved once (ARCHITECTURE.md, Account context).
 * Every authenticated route is built with `authRoute`, which declares the API-key scope it
 * accepts (none: keys are refused) and whether it is for platform admins (never via a key).
 * What a credential stands for, and who belongs to an org, are identity's to say: it answers
 * through `authenticatorPort`, wired by the composition root.
 */

/** What identity tells the platform about credentials and memberships. */
export type Authenticator = {
  /** The principal a bearer credential stands for; 401 (`unauthorized`) when it stands for no one. */
  principalOf(c: Context<AppEnv>, credential: string): Promise<Principal>;
  /** The user's role in the org, or null when not a member; `cached` may be a few seconds old. */
  roleIn(env: Env, orgId: string, userId: string, freshness: "cached" | "fresh"): Promise<OrgRole | null>;
};

export const authenticatorPort = port<Authenticator>("the authenticator (identity)");

type AuthOptions = { scope?: ApiKeyScope; admin?: boolean };

/** 401 with the challenge clients expect. */
export const unauthorized = (detail: string) =>
  new AppError("unauthorized", detail, { headers: { "WWW-Authenticate": 'Bearer realm="stratus"' } });

/** An org-bound key's org, else the org the headers name (404 if not a member), else the caller. */
async function resolveAccount(c: Context<AppEnv>, principal: Principal): Promise<Account> {
  const named = c.req.header("x-stratus-org") ?? c.req.header("openai-organization");
  const orgId = principal.keyOrgId ?? named;
  if (principal.keyOrgId && named && named !== principal.keyOrgId) {
    throw new AppError("not_found", "This API key belongs to another organization.");
  }
  if (!orgId) return { type: "user", id: principal.id };
  const role = await authenticatorPort.get().roleIn(c.env, orgId, principal.id, "cached");
  if (!role) throw new AppError("not_found", "No such organization.");
  return { type: "org", id: orgId, role };
}

function enforce(principal: Principal, options: AuthOptions): void {
  if (principal.via === "api_key") {
    if (!options.scope) throw new AppError("forbidden", "This endpoint does not accept API keys: sign in instead.");
    if (!principal.scopes?.includes(options.scope)) {
      throw new AppError("forbidden", `This API key lacks the "${options.scope}" scope.`);
    }
  }
  if (options.admin && principal.platformRole !== "admin") {
    throw new AppError("forbidden", "This endpoint is for platform admins.");
  }
}

export function authenticate(options: AuthOptions = {}): MiddlewareHandler<AppEnv> {
  return createMiddleware<AppEnv>(async (c, next) => {
    const match = /^Bearer\s+(\S+)$/i.exec(c.req.header("authorization") ?? "");
    const credential = match?.[1];
    if (!credential) throw unauthorized("Send Authorization: Bearer <access token or API key>.");
    const principal = await authenticatorPort
      .get()
      .principalOf(c, credential)
      .catch(async (error: unknown) => {
        await limitFailedAuthentication(c);
        throw error;
      });
    enforce(principal, options);
    c.set("principal", principal);
    c.set("account", await resolveAccount(c, principal));
    await next();
  });
}

/** `defineRoute` for a route that needs a signed-in caller (or a key with `scope`). */
export function authRoute<P extends string, R extends Omit<RouteConfig, "path"> & { path: P }>(
  config: R,
  options: RouteOptions & AuthOptions = {},
) {
  const { scope, admin, ...routeOptions } = options;
  const errors: ErrorCode[] = [...(routeOptions.errors ?? []), "unauthorized", "forbidden", "not_found"];
  return defineRoute(
    {
      ...config,
      security: [{ bearerAuth: [] }],
      middleware: [authenticate({ scope, admin })],
      description: [config.description, scope ? `API keys need the \`${scope}\` scope.` : "API keys are refused."]
        .filter(Boolean)
        .join(" "),
    },
    { ...routeOptions, errors },
  ) as unknown as R & { getRoutingPath(): string };
}

/** The signed-in principal of a route built with `authRoute` (its middleware set it). */
export const principalOf = (c: Context<AppEnv>): Principal => c.get("principal") as Principal;

/** The account a route built with `authRoute` acts for (ARCHITECTURE.md, Account context). */
export const accountOf = (c: Context<AppEnv>): Account => c.get("account") as Account;

/** Who acts, and the request id their audit entries carry. */
export const actorOf = (c: Context<AppEnv>): Actor => ({ userId: principalOf(c).id, requestId: c.get("requestId") });

/** The request, as services receive it (a route built with `authRoute`). */
export const requestContextOf = (c: Context<AppEnv>): RequestContext => ({
  env: c.env,
  config: c.get("config"),
  logger: c.get("logger"),
  requestId: c.get("requestId"),
  principal: principalOf(c),
  account: accountOf(c),
  waitUntil: (promise) => c.executionCtx.waitUntil(promise),
  timing: (metric, ms) => c.header("Server-Timing", `${metric};dur=${ms.toFixed(1)}`, { append: true }),
  ...(c.get("spendKey") ? { spendKey: c.get("spendKey") } : {}),
});
