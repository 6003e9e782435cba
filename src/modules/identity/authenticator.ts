import type { Context } from "hono";
import { type Authenticator, unauthorized } from "../../middleware/auth";
import type { AppEnv, Principal } from "../../platform/context";
import { apiKeyState, KEY_PREFIX, touchApiKey } from "./api-keys/service";
import { membershipRole } from "./orgs/memberships";
import { cachedMembershipRole, sessionState, touchSession } from "./session-cache";
import { verifyAccessToken } from "./tokens";

/**
 * What identity tells the platform's authentication (`src/middleware/auth.ts`, through the
 * port the composition root wires): the principal of an access token or an API key, and a
 * user's role in an org.
 */

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

export const authenticator: Authenticator = {
  principalOf: (c, credential) =>
    credential.startsWith(KEY_PREFIX) ? principalFromApiKey(c, credential) : principalFromAccessToken(c, credential),
  roleIn: (env, orgId, userId, freshness) =>
    freshness === "cached" ? cachedMembershipRole(env, orgId, userId) : membershipRole(env, orgId, userId),
};
