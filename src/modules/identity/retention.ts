import { DAY_MS } from "../../platform/date-range";

/**
 * How long identity keeps rows that can no longer be used, and the cron step that deletes
 * them, a bounded page per kind per run (the 5-minute cron catches up on a backlog):
 * - sessions, 30 days after they expired or were revoked (their refresh tokens go with them);
 * - rotated refresh tokens, 30 days after rotation: one older than the sliding window is
 *   refused anyway, so reuse detection loses nothing it could still act on;
 * - email tokens (verification, reset, email change), 7 days after they expired, used or not;
 * - invitations, 30 days after they expired, whether accepted, revoked or left (the audit log
 *   keeps who invited and who joined).
 */

export const RETENTION_MS = {
  sessions: 30 * DAY_MS,
  rotatedRefreshTokens: 30 * DAY_MS,
  emailTokens: 7 * DAY_MS,
  invitations: 30 * DAY_MS,
} as const;

/** Rows deleted per kind per run: well inside D1's per-statement limits. */
const PAGE = 500;

export async function purgeExpiredIdentityRows(env: Env, now: number, page = PAGE) {
  const sessionsEnded = `SELECT id FROM sessions
    WHERE expires_at < ?1 OR (revoked_at IS NOT NULL AND revoked_at < ?1) ORDER BY id LIMIT ?2`;
  const [refreshTokens, sessions, rotated, emailTokens, invitations] = await env.DB.batch([
    // The same page of sessions, their tokens first (the foreign key cascades too, but D1 need not be asked to).
    env.DB.prepare(`DELETE FROM refresh_tokens WHERE session_id IN (${sessionsEnded})`).bind(
      now - RETENTION_MS.sessions,
      page,
    ),
    env.DB.prepare(`DELETE FROM sessions WHERE id IN (${sessionsEnded})`).bind(now - RETENTION_MS.sessions, page),
    env.DB.prepare(
      "DELETE FROM refresh_tokens WHERE token_hash IN (SELECT token_hash FROM refresh_tokens WHERE rotated_at < ? LIMIT ?)",
    ).bind(now - RETENTION_MS.rotatedRefreshTokens, page),
    env.DB.prepare(
      "DELETE FROM email_tokens WHERE token_hash IN (SELECT token_hash FROM email_tokens WHERE expires_at < ? LIMIT ?)",
    ).bind(now - RETENTION_MS.emailTokens, page),
    env.DB.prepare(
      "DELETE FROM invitations WHERE id IN (SELECT id FROM invitations WHERE expires_at < ? LIMIT ?)",
    ).bind(now - RETENTION_MS.invitations, page),
  ]);
  const changes = (result: D1Result | undefined) => result?.meta.changes ?? 0;
  return {
    sessions: changes(sessions),
    refreshTokens: changes(refreshTokens) + changes(rotated),
    emailTokens: changes(emailTokens),
    invitations: changes(invitations),
  };
}
