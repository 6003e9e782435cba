import type { RouteConfig } from "@hono/zod-openapi";
import type { Context, MiddlewareHandler } from "hono";
import { createMiddleware } from "hono/factory";
import type { Account, AppEnv, Principal } from "../../platform/context";
import { AppError, type ErrorCode } from "../../platform/errors";
import { defineRoute, type RouteOptions } from "../../platform/openapi";
import { limitFailedAuthentication } from "../../platform/rate-limit/middleware";
import { apiKeyState, KEY_PREFIX, touchApiKey } from "./api-keys/service";
import { can, type Permission, requireRolePermission } from "./orgs/roles";
import { cachedMembershipRole, sessionState, touchSession } from "./session-cache";
import type { ApiKeyScope, OrgRole } from "./tables";
import { verifyAccessToken } from "./tokens";

/**
 * Authentication: `Authorization: Bearer <access token | API key>` becomes one principal
 * type, then the request's account is resolved once (ARCHITECTURE.md, Account context).
 * Every authenticated route is built with `authRoute`, which declares the API-key scope it
 * accepts (none: keys are refused) and whether it is for platform admins (never via a key).
 */

export type AuthOptions = { scope?: ApiKeyScope; admin?: boolean };

const unauthorized = (detail: string) =>
  new AppError("unauthorized", detail, { headers: { "WWW-Authenticate": 'Bearer realm="stratus"' } });

async function principalFromAccessToken(c: Context<AppEnv>, token: string): Promise<Principal> {
  const claims = await verifyAccessToken(c.get("config"), token).catch(() => {
    throw unauthorized("The access token is invalid or expired.");
  });
  const state = await sessionState(c.env, claims.sessionId);
  if (!state.active || state.userId !== claims.userId) {
    throw unauthorized("The session of this access token has ended.");
  }
  c.executionCtx.waitUntil(touchSession(c.env, claims.sessionId, state).catch(() => {}));
  return { id: state.userId, via: "session", platformRole: state.role, sessionId: claims.sessionId };
}

async function principalFromApiKey(c: Context<AppEnv>, secret: string): Promise<Principal> {
  const { hash, state } = await apiKeyState(c.env, secret);
  if (!state.active) throw unauthorized("The API key is invalid, revoked or expired.");
  c.executionCtx.waitUntil(touchApiKey(c.env, hash, state).catch(() => {}));
  return {
    id: state.userId,
    via: "api_key",
    // Keys never carry platform-admin rights.
    platformRole: "user",
    keyId: state.keyId,
    scopes: state.scopes,
    ...(state.orgId ? { keyOrgId: state.orgId } : {}),
    ...(state.monthlyCreditBudget !== null ? { keyMonthlyBudget: state.monthlyCreditBudget } : {}),
  };
}

/** An org-bound key's org, else the org the headers name (404 if not a member), else the caller. */
async function resolveAccount(c: Context<AppEnv>, principal: Principal): Promise<Account> {
  const named = c.req.header("x-stratus-org") ?? c.req.header("openai-organization");
  const orgId = principal.keyOrgId ?? named;
  if (principal.keyOrgId && named && named !== principal.keyOrgId) {
    throw new AppError("not_found", "This API key belongs to another organization.");
  }
  if (!orgId) return { type: "user", id: principal.id };
  const role = await cachedMembershipRole(c.env, orgId, principal.id);
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
    const principal = await (credential.startsWith(KEY_PREFIX)
      ? principalFromApiKey(c, credential)
      : principalFromAccessToken(c, credential)
    ).catch(async (error: unknown) => {
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

/** Whether the caller may do `permission` on `account`: always on their own, by their role on an org's. */
export const accountCan = (account: Account, permission: Permission) =>
  account.type === "user" || can(account.role as OrgRole, permission);

/**
 * The request's account when the caller may do `permission` there: always on their own
 * account, by their role on an org's (403 otherwise).
 */
export function accountPermitting(c: Context<AppEnv>, permission: Permission): Account {
  const account = accountOf(c);
  if (account.type === "org") requireRolePermission(account.role as OrgRole, permission);
  return account;
}

/** Who acts, and the request id their audit entries carry. */
export const actorOf = (c: Context<AppEnv>) => ({ userId: principalOf(c).id, requestId: c.get("requestId") });
