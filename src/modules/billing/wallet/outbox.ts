import { type CopyMessage, CREDIT_BUCKETS, type ShippedRow } from "./protocol";

/**
 * The wallet's outbox: rows wait here, in sequence, until the D1 copy confirms it holds every
 * row up to theirs. Unsent rows leave in messages of at most `MAX_ROWS` rows and `MAX_BYTES`
 * (Queues take 128 KB a message); a row sent but not confirmed within `RESEND_AFTER_MS` goes
 * again (a message may be lost or dead-lettered; the copy ignores what it already has).
 */

const FLUSH_AFTER_MS = 2_000;
const MAX_ROWS = 200;
const MAX_BYTES = 96 * 1024;
export const RESEND_AFTER_MS = 60_000;

type OutboxRow = { seq: number; kind: ShippedRow["kind"]; body: string };

/**
 * When the outbox next needs the alarm: `ship` when rows wait unsent (at once when they fill a
 * message), `resend` when a sent row is due again without a confirmation. Each value is one
 * step down a partial index, never a scan: this runs after every operation of the wallet. The
 * unsent rows' span stands for their count (gaps only make a message ship early).
 */
export function outboxDue(sql: SqlStorage, now: number): { ship: number | null; resend: number | null } {
  const row = sql
    .exec<{ first: number | null; last: number | null; oldest: number | null }>(
      `SELECT (SELECT min(seq) FROM outbox WHERE sent_at IS NULL) AS first,
         (SELECT max(seq) FROM outbox WHERE sent_at IS NULL) AS last,
         (SELECT min(sent_at) FROM outbox WHERE sent_at IS NOT NULL) AS oldest`,
    )
    .one();
  const unsent = row.first === null || row.last === null ? 0 : row.last - row.first + 1;
  return {
    ship: unsent === 0 ? null : unsent >= MAX_ROWS ? now : now + FLUSH_AFTER_MS,
    resend: row.oldest === null ? null : row.oldest + RESEND_AFTER_MS,
  };
}

/** The balances after row `seq`: each bucket's last ledger row at or before it. */
function balancesAt(sql: SqlStorage, seq: number) {
  const balances = { included: 0, purchased: 0 };
  for (const bucket of CREDIT_BUCKETS) {
    const [row] = sql
      .exec<{ balance_after: number }>(
        "SELECT balance_after FROM ledger WHERE bucket = ? AND seq <= ? ORDER BY seq DESC LIMIT 1",
        bucket,
        seq,
      )
      .toArray();
    balances[bucket] = row?.balance_after ?? 0;
  }
  return balances;
}

/** The next message of unsent rows (a contiguous run from the first unsent one), or null. */
export function nextMessage(sql: SqlStorage, accountId: string): CopyMessage | null {
  const rows: ShippedRow[] = [];
  let bytes = 0;
  let previous: number | null = null;
  for (const row of sql.exec<OutboxRow>(
    "SELECT seq, kind, body FROM outbox WHERE sent_at IS NULL ORDER BY seq LIMIT ?",
    MAX_ROWS,
  )) {
    if (previous !== null && row.seq !== previous + 1) break;
    if (rows.length > 0 && bytes + row.body.length > MAX_BYTES) break;
    bytes += row.body.length + 32;
    previous = row.seq;
    rows.push({ seq: row.seq, kind: row.kind, body: JSON.parse(row.body) } as ShippedRow);
  }
  const last = rows.at(-1);
  if (!last) return null;
  return { type: "rows", accountId, rows, checkpoint: { seq: last.seq, balances: balancesAt(sql, last.seq) } };
}

export function markSent(sql: SqlStorage, message: CopyMessage, now: number): void {
  const first = message.rows[0]?.seq ?? 0;
  sql.exec("UPDATE outbox SET sent_at = ? WHERE seq BETWEEN ? AND ?", now, first, message.checkpoint.seq);
}

/**
 * The copy holds every row through `through`: those rows leave the outbox. `resendFrom`, when
 * the copy misses a row, sends everything from it again.
 */
export function confirm(sql: SqlStorage, through: number, resendFrom: number | null): void {
  sql.exec("DELETE FROM outbox WHERE seq <= ?", through);
  sql.exec("UPDATE state SET confirmed_seq = max(confirmed_seq, ?)", through);
  if (resendFrom !== null) sql.exec("UPDATE outbox SET sent_at = NULL WHERE seq >= ?", resendFrom);
}

/** Rows sent too long ago without a confirmation go again. */
export function resendStale(sql: SqlStorage, now: number): void {
  sql.exec("UPDATE outbox SET sent_at = NULL WHERE sent_at IS NOT NULL AND sent_at <= ?", now - RESEND_AFTER_MS);
}
