import { and, eq, gt, isNull, ne } from "drizzle-orm";
import type { Config } from "../../env";
import { clock } from "../../platform/clock";
import { randomToken, sha256Hex } from "../../platform/crypto";
import { database } from "../../platform/db";
import { AppError } from "../../platform/errors";
import { newId } from "../../platform/ids";
import { forgetSession, liveSession } from "./session-cache";
import { refreshTokens, sessions, users } from "./tables";
import { signAccessToken } from "./tokens";

/**
 * Sessions and refresh-token rotation. A refresh token is 256 random bits, stored only as a
 * SHA-256 hash, and rotated on every use by one conditional update. Presenting a rotated
 * token again within REFRESH_REUSE_INTERVAL_SECONDS (two tabs, a retried request) yields a
 * new child in the same session; later, it is treated as stolen: the whole session is
 * revoked. Sessions slide 30 days from their last refresh, never past 90 days in all.
 */

export const SESSION_SLIDING_MS = 30 * 24 * 60 * 60 * 1000;
const SESSION_ABSOLUTE_MS = 90 * 24 * 60 * 60 * 1000;

export type TokenPair = { accessToken: string; refreshToken: string; tokenType: "Bearer"; expiresIn: number };
export type ClientInfo = { userAgent: string | null; ip: string | null };

async function tokenPair(config: Config, userId: string, sessionId: string, refreshToken: string): Promise<TokenPair> {
  const access = await signAccessToken(config, { userId, sessionId });
  return { accessToken: access.token, refreshToken, tokenType: "Bearer", expiresIn: access.expiresIn };
}

export async function startSession(env: Env, config: Config, userId: string, client: ClientInfo): Promise<TokenPair> {
  const db = database(env);
  const now = clock.now();
  const sessionId = newId("ses", now);
  const refreshToken = randomToken();
  await db.batch([
    db.insert(sessions).values({
      id: sessionId,
      userId,
      userAgent: client.userAgent?.slice(0, 256) ?? null,
      ip: client.ip,
      createdAt: now,
      lastUsedAt: now,
      expiresAt: now + SESSION_SLIDING_MS,
      absoluteExpiresAt: now + SESSION_ABSOLUTE_MS,
    }),
    db.insert(refreshTokens).values({ tokenHash: await sha256Hex(refreshToken), sessionId, createdAt: now }),
  ]);
  return tokenPair(config, userId, sessionId, refreshToken);
}

const invalidRefresh = () => new AppError("invalid_refresh_token", "The refresh token is invalid or expired.");

/** Issues a child of `parentHash` in the session, after checking the session and its user. */
async function issueChild(env: Env, config: Config, sessionId: string, parentHash: string, now: number) {
  const db = database(env);
  const [row] = await db
    .select({ userId: sessions.userId, absoluteExpiresAt: sessions.absoluteExpiresAt })
    .from(sessions)
    .innerJoin(users, eq(users.id, sessions.userId))
    .where(and(liveSession(sessionId, now), gt(sessions.expiresAt, now)));
  if (!row) throw invalidRefresh();
  const refreshToken = randomToken();
  await db.batch([
    db
      .insert(refreshTokens)
      .values({ tokenHash: await sha256Hex(refreshToken), sessionId, parentHash, createdAt: now }),
    db
      .update(sessions)
      .set({ lastUsedAt: now, expiresAt: Math.min(now + SESSION_SLIDING_MS, row.absoluteExpiresAt) })
      .where(eq(sessions.id, sessionId)),
  ]);
  return tokenPair(config, row.userId, sessionId, refreshToken);
}

export async function rotateRefreshToken(env: Env, config: Config, refreshToken: string): Promise<TokenPair> {
  const db = database(env);
  const now = clock.now();
  const hash = await sha256Hex(refreshToken);
  const [rotated] = await db
    .update(refreshTokens)
    .set({ rotatedAt: now })
    .where(and(eq(refreshTokens.tokenHash, hash), isNull(refreshTokens.rotatedAt)))
    .returning({ sessionId: refreshTokens.sessionId });
  if (rotated) return issueChild(env, config, rotated.sessionId, hash, now);

  const [seen] = await db.select().from(refreshTokens).where(eq(refreshTokens.tokenHash, hash));
  if (!seen?.rotatedAt) throw invalidRefresh();
  if (now - seen.rotatedAt <= config.REFRESH_REUSE_INTERVAL_SECONDS * 1000) {
    return issueChild(env, config, seen.sessionId, hash, now);
  }
  await revokeSession(env, seen.sessionId, "refresh_token_reused");
  throw new AppError(
    "refresh_token_reused",
    "This refresh token was already used; the session is revoked. Sign in again.",
  );
}

export async function revokeSession(env: Env, sessionId: string, reason: string): Promise<boolean> {
  const revoked = await database(env)
    .update(sessions)
    .set({ revokedAt: clock.now(), revokedReason: reason })
    .where(and(eq(sessions.id, sessionId), isNull(sessions.revokedAt)))
    .returning({ id: sessions.id });
  forgetSession(sessionId);
  return revoked.length > 0;
}

/** Revokes every live session of the user, but `keep` (the caller's own, on a password change). */
export async function revokeUserSessions(env: Env, userId: string, reason: string, keep?: string): Promise<void> {
  const revoked = await database(env)
    .update(sessions)
    .set({ revokedAt: clock.now(), revokedReason: reason })
    .where(and(eq(sessions.userId, userId), isNull(sessions.revokedAt), keep ? ne(sessions.id, keep) : undefined))
    .returning({ id: sessions.id });
  for (const { id } of revoked) forgetSession(id);
}
