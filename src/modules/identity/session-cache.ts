import { and, eq, gt, isNull } from "drizzle-orm";
import { clock } from "../../platform/clock";
import { database } from "../../platform/db";
import { TtlCache } from "../../platform/ttl-cache";
import { memberships, type OrgRole, sessions, users } from "./tables";

/**
 * What a request's credentials say right now, read from D1 through short in-isolate caches
 * (ARCHITECTURE.md: fresh lookups, never KV). A revoked session, a disabled user, a changed
 * role or a lost membership takes effect within FRESHNESS_MS everywhere, at once in the
 * isolate that made the change. The user row read with a session is kept too, so the caller's
 * own profile (GET /v1/me) costs no D1 read; writes to it forget it here.
 */

export const FRESHNESS_MS = 30_000;

export type SessionState = { active: false } | { active: true; userId: string; role: "user" | "admin" };

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

export function sessionState(env: Pick<Env, "DB">, sessionId: string): Promise<SessionState> {
  return sessionCache.getOrLoad(sessionId, async () => {
    const [row] = await database(env)
      .select({ user: users })
      .from(sessions)
      .innerJoin(users, eq(users.id, sessions.userId))
      .where(
        and(
          eq(sessions.id, sessionId),
          isNull(sessions.revokedAt),
          gt(sessions.absoluteExpiresAt, clock.now()),
          isNull(users.disabledAt),
        ),
      );
    if (!row) return { active: false };
    userCache.set(row.user.id, row.user);
    return { active: true, userId: row.user.id, role: row.user.role };
  });
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
