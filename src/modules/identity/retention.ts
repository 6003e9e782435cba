import { DAY_MS } from "../../platform/clock";

/**
 * How long identity keeps rows that can no longer be used, and the cron step that deletes
 * them, a bounded page per kind per run (the 5-minute cron catches up on a backlog):
 * - sessions, 30 days after they expired or were revoked, with their refresh tokens. A live
 *   session keeps every token it rotated (at most 90 days of them): presenting any of them
 *   again is how reuse detection finds a stolen token and revokes the session;
 * - email tokens (verification, reset, email change), 7 days after they expired, used or not;
 * - invitations, 30 days after they expired, whether accepted, revoked or left (the audit log
 *   keeps who invited and who joined).
 */

export const RETENTION_MS = {
  sessions: 30 * DAY_MS,
  emailTokens: 7 * DAY_MS,
  invitations: 30 * DAY_MS,
} as const;

/** Rows deleted per kind per run: well inside D1's per-statement limits. */
const PAGE = 500;

/** A session past its retention: expired or revoked more than `?1` ago. */
const ENDED = "(sessions.expires_at < ?1 OR sessions.revoked_at < ?1)";

export async function purgeExpiredIdentityRows(env: Env, now: number, page = PAGE) {
  const [refreshTokens, sessions, emailTokens, invitations] = await env.DB.batch([
    // A page of the ended sessions' tokens (a session may have thousands), then the sessions whose
    // tokens are all gone: each statement bounded, however the tokens fall across sessions.
    env.DB.prepare(
      `DELETE FROM refresh_tokens WHERE token_hash IN (
         SELECT token_hash FROM refresh_tokens JOIN sessions ON sessions.id = refresh_tokens.session_id
         WHERE ${ENDED} LIMIT ?2)`,
    ).bind(now - RETENTION_MS.sessions, page * 4),
    env.DB.prepare(
      `DELETE FROM sessions WHERE id IN (
         SELECT id FROM sessions WHERE ${ENDED}
         AND NOT EXISTS (SELECT 1 FROM refresh_tokens WHERE refresh_tokens.session_id = sessions.id) LIMIT ?2)`,
    ).bind(now - RETENTION_MS.sessions, page),
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
    refreshTokens: changes(refreshTokens),
    emailTokens: changes(emailTokens),
    invitations: changes(invitations),
  };
}
