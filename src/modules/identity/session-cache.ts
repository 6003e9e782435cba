import { and, eq, gt, isNull } from "drizzle-orm";
import { clock } from "../../platform/clock";
import { database } from "../../platform/db";
import { sessions, users } from "./tables";

/**
 * What an access token's session says right now, read from D1 through a short in-isolate
 * cache (ARCHITECTURE.md: fresh lookups, never KV). A revoked session, a disabled user or a
 * changed role takes effect within SESSION_CACHE_MS everywhere, at once in this isolate.
 */

export const SESSION_CACHE_MS = 30_000;
const MAX_ENTRIES = 10_000;

export type SessionState = { active: false } | { active: true; userId: string; role: "user" | "admin" };

const cache = new Map<string, { state: SessionState; until: number }>();

export function forgetSession(sessionId: string): void {
  cache.delete(sessionId);
}

async function load(env: Pick<Env, "DB">, sessionId: string, now: number): Promise<SessionState> {
  const [row] = await database(env)
    .select({ userId: users.id, role: users.role })
    .from(sessions)
    .innerJoin(users, eq(users.id, sessions.userId))
    .where(
      and(
        eq(sessions.id, sessionId),
        isNull(sessions.revokedAt),
        gt(sessions.absoluteExpiresAt, now),
        isNull(users.disabledAt),
      ),
    );
  return row ? { active: true, userId: row.userId, role: row.role } : { active: false };
}

export async function sessionState(env: Pick<Env, "DB">, sessionId: string): Promise<SessionState> {
  const now = clock.now();
  const hit = cache.get(sessionId);
  if (hit && hit.until > now) return hit.state;
  const state = await load(env, sessionId, now);
  if (cache.size >= MAX_ENTRIES) cache.clear();
  cache.set(sessionId, { state, until: now + SESSION_CACHE_MS });
  return state;
}
