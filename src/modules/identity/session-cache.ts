import { and, eq, gt, isNull, lt } from "drizzle-orm";
import type { OrgRole } from "../../middleware/permissions";
import { clock } from "../../platform/clock";
import { database } from "../../platform/db";
import { TtlCache } from "../../platform/ttl-cache";
import { memberships, sessions, users } from "./tables";

/**
 * What a request's credentials say right now, read from D1 through short in-isolate caches
 * (ARCHITECTURE.md: fresh lookups, never KV). A revoked session, a disabled user, a changed
 * role or a lost membership takes effect within FRESHNESS_MS everywhere, at once in the
 * isolate that made the change. The user row read with a session is kept too, so the caller's
 * own profile (GET /v1/me) costs no D1 read; writes to it forget it here.
 */

export const FRESHNESS_MS = 30_000;

/** Last-use times are written at most this often per session or key, never on every request. */
export const LAST_USED_RESOLUTION_MS = 5 * 60 * 1000;

type SessionState = { active: false } | { active: true; userId: string; role: "user" | "admin"; lastUsedAt: number };

const sessionCache = new TtlCache<SessionState>(FRESHNESS_MS);
const userCache = new TtlCache<typeof users.$inferSelect>(FRESHNESS_MS);
const membershipCache = new TtlCache<OrgRole | null>(FRESHNESS_MS);

export function forgetSession(sessionId: string): void {
  sessionCache.delete(sessionId);
}

export function forgetUser(userId: string): void {
  userCache.delete(userId);
}

/** The user's row, at most FRESHNESS_MS old. */
export function cachedUser(env: Pick<Env, "DB">, userId: string) {
  return userCache.getOrLoad(userId, async () => {
    const [user] = await database(env).select().from(users).where(eq(users.id, userId));
    if (!user) throw new Error(`user ${userId} vanished`);
    return user;
  });
}

/**
 * The one definition of a session that still counts (for a query joining sessions to users):
 * not revoked, within its 90-day life, and its user not disabled. Refresh also needs the
 * sliding expiry; an access token does not (it has its own 15 minutes).
 */
export function liveSession(sessionId: string, now: number) {
  return and(
    eq(sessions.id, sessionId),
    isNull(sessions.revokedAt),
    gt(sessions.absoluteExpiresAt, now),
    isNull(users.disabledAt),
  );
}

export function sessionState(env: Pick<Env, "DB">, sessionId: string): Promise<SessionState> {
  return sessionCache.getOrLoad(sessionId, async () => {
    const [row] = await database(env)
      .select({ user: users, lastUsedAt: sessions.lastUsedAt })
      .from(sessions)
      .innerJoin(users, eq(users.id, sessions.userId))
      .where(liveSession(sessionId, clock.now()));
    if (!row) return { active: false };
    userCache.set(row.user.id, row.user);
    return { active: true, userId: row.user.id, role: row.user.role, lastUsedAt: row.lastUsedAt };
  });
}

/** Records that the session was used, when its stored time is older than the resolution. */
export async function touchSession(
  env: Pick<Env, "DB">,
  sessionId: string,
  state: Extract<SessionState, { active: true }>,
) {
  const now = clock.now();
  if (now - state.lastUsedAt < LAST_USED_RESOLUTION_MS) return;
  state.lastUsedAt = now;
  await database(env)
    .update(sessions)
    .set({ lastUsedAt: now })
    .where(and(eq(sessions.id, sessionId), lt(sessions.lastUsedAt, now - LAST_USED_RESOLUTION_MS)));
}

export function forgetMembership(orgId: string, userId: string): void {
  membershipCache.delete(`${orgId}:${userId}`);
}

/** The user's role in the org, or null; for the per-request account context. */
export function cachedMembershipRole(env: Pick<Env, "DB">, orgId: string, userId: string): Promise<OrgRole | null> {
  return membershipCache.getOrLoad(`${orgId}:${userId}`, async () => {
    const [row] = await database(env)
      .select({ role: memberships.role })
      .from(memberships)
      .where(and(eq(memberships.orgId, orgId), eq(memberships.userId, userId)));
    return row?.role ?? null;
  });
}
