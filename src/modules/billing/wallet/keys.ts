import { HOUR_MS, MINUTE_MS } from "../../../platform/clock";
import { Refused } from "./book";
import type { KeptAnswer, KeyClaim } from "./protocol";

/**
 * `Idempotency-Key`s of the account's spending requests, kept by its wallet (ARCHITECTURE.md,
 * Conventions: per principal and key, a body hash, the answer, 24 h; a different body or a
 * repeat in flight is 409). A key is claimed in the same transaction as the request's hold, so
 * a refused spend claims nothing; its answer is kept after the response.
 */

const KEPT_MS = 24 * HOUR_MS;
/** How long an in-flight claim holds before a repeat may take it over (its isolate died). */
const LOCK_MS = 5 * MINUTE_MS;

type KeyRow = {
  request_hash: string;
  state: "in_flight" | "completed";
  status: number | null;
  headers: string | null;
  body: string | null;
  locked_until: number;
  expires_at: number;
};

/** Claims the key for this request (null), or answers the answer kept for it; refuses a reuse or a repeat in flight. */
export function claimKey(sql: SqlStorage, claim: KeyClaim, now: number): KeptAnswer | null {
  const [row] = sql
    .exec<KeyRow>("SELECT * FROM idempotency WHERE principal_id = ? AND key = ?", claim.principalId, claim.key)
    .toArray();
  if (row && row.expires_at > now) {
    if (row.request_hash !== claim.hash) {
      throw new Refused({
        ok: false,
        code: "idempotency_key_reused",
        detail: "This Idempotency-Key was used with a different request.",
      });
    }
    if (row.state === "completed") {
      return { status: row.status ?? 200, headers: JSON.parse(row.headers ?? "{}"), body: row.body };
    }
    if (row.locked_until > now) {
      throw new Refused({
        ok: false,
        code: "idempotency_key_in_use",
        detail: "A request with this Idempotency-Key is still in progress.",
      });
    }
  }
  sql.exec(
    `INSERT INTO idempotency (principal_id, key, request_hash, state, locked_until, expires_at) VALUES (?, ?, ?, 'in_flight', ?, ?)
     ON CONFLICT (principal_id, key) DO UPDATE SET request_hash = excluded.request_hash, state = 'in_flight', status = NULL,
       headers = NULL, body = NULL, locked_until = excluded.locked_until, expires_at = excluded.expires_at`,
    claim.principalId,
    claim.key,
    claim.hash,
    now + LOCK_MS,
    now + KEPT_MS,
  );
  return null;
}

/** Keeps the answer of a claimed key, or (null) lets the key go so a retry runs again. */
export function keepAnswer(sql: SqlStorage, principalId: string, key: string, answer: KeptAnswer | null): void {
  if (!answer) {
    sql.exec("DELETE FROM idempotency WHERE principal_id = ? AND key = ? AND state = 'in_flight'", principalId, key);
    return;
  }
  sql.exec(
    `UPDATE idempotency SET state = 'completed', status = ?, headers = ?, body = ?
     WHERE principal_id = ? AND key = ? AND state = 'in_flight'`,
    answer.status,
    JSON.stringify(answer.headers),
    answer.body,
    principalId,
    key,
  );
}

/** Keys past their 24 h go. */
export const forgetExpiredKeys = (sql: SqlStorage, now: number) =>
  sql.exec("DELETE FROM idempotency WHERE expires_at <= ?", now);
