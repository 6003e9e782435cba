import type { StoredAnswer } from "../../../platform/context";
import { IDEMPOTENCY_LOCK_MS, IDEMPOTENCY_TTL_MS } from "../../../platform/idempotency/middleware";
import { Refused } from "./book";
import type { KeyClaim } from "./protocol";

/**
 * `Idempotency-Key`s of the account's spending requests, kept by its wallet (ARCHITECTURE.md,
 * Conventions: per principal and key, a body hash, the answer, 24 h; a different body or a
 * repeat in flight is 409). A key is claimed in the same transaction as the request's hold, so
 * a refused spend claims nothing; its answer is kept after the response.
 */

type KeyRow = {
  request_hash: string;
  hold_reference: string;
  state: "in_flight" | "completed";
  status: number | null;
  headers: string | null;
  body: string | null;
  locked_until: number;
  expires_at: number;
};

/**
 * Claims the key for the request whose hold is `holdReference` (null), or answers the answer
 * kept for it; refuses a reuse or a repeat in flight. The same call again (a retry whose answer
 * was lost: same hold) finds its own claim and goes on to its hold.
 */
export function claimKey(sql: SqlStorage, claim: KeyClaim, holdReference: string, now: number): StoredAnswer | null {
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
    if (row.locked_until > now && row.hold_reference !== holdReference) {
      throw new Refused({
        ok: false,
        code: "idempotency_key_in_use",
        detail: "A request with this Idempotency-Key is still in progress.",
      });
    }
  }
  sql.exec(
    `INSERT INTO idempotency (principal_id, key, request_hash, hold_reference, state, locked_until, expires_at)
     VALUES (?, ?, ?, ?, 'in_flight', ?, ?)
     ON CONFLICT (principal_id, key) DO UPDATE SET request_hash = excluded.request_hash,
       hold_reference = excluded.hold_reference, state = 'in_flight', status = NULL, headers = NULL, body = NULL,
       locked_until = excluded.locked_until, expires_at = excluded.expires_at`,
    claim.principalId,
    claim.key,
    claim.hash,
    holdReference,
    now + IDEMPOTENCY_LOCK_MS,
    now + IDEMPOTENCY_TTL_MS,
  );
  return null;
}

/** Keeps the answer of a claimed key, or (null) lets the key go so a retry runs again. */
export function keepAnswer(sql: SqlStorage, principalId: string, key: string, answer: StoredAnswer | null): void {
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
