/**
 * Moving an account's pre-wallet credits from D1 into its wallet, on the wallet's first touch.
 * One D1 batch marks the account migrated (from then on triggers refuse every write of it to
 * the old tables) and reads what it had: balances, open holds, budgets, clawbacks, included
 * periods, quota counters. The batch is a transaction, so the snapshot is exactly what the
 * marker froze; a wallet that fails before storing it reads the same snapshot next time.
 */

import type { HoldRow } from "./book";

type SnapshotBalance = { bucket: "included" | "purchased"; balance: number };
type SnapshotHold = Pick<
  HoldRow,
  | "id"
  | "reference"
  | "amount"
  | "from_included"
  | "from_purchased"
  | "budget_key"
  | "budget_period_start"
  | "created_at"
  | "expires_at"
>;
type SnapshotBudget = { budget_key: string; period_start: number; used: number; limit_value: number };
type SnapshotClawback = { session_id: string; requested: number; clawed: number; shortfall: number };
type SnapshotGrant = {
  reference: string;
  plan_id: string;
  period_start: number;
  period_end: number;
  millicredits: number;
  expired_at: number | null;
};
type SnapshotCounter = { metric: string; period_start: number; used: number; limit_value: number };

export type Snapshot = {
  balances: SnapshotBalance[];
  holds: SnapshotHold[];
  budgets: SnapshotBudget[];
  clawbacks: SnapshotClawback[];
  grants: SnapshotGrant[];
  counters: SnapshotCounter[];
};

/** Budgets and counters of periods that ended longer ago than this no longer matter. */
const PERIODS_KEPT_MS = 40 * 24 * 60 * 60 * 1000;

/** Marks `accountId` migrated and reads its pre-wallet credits, in one D1 transaction; "deleted" for a deleted account. */
export async function takeSnapshot(db: D1Database, accountId: string, now: number): Promise<Snapshot | "deleted"> {
  const since = now - PERIODS_KEPT_MS;
  const results = await db.batch([
    db.prepare("INSERT OR IGNORE INTO wallet_migrations (account_id, migrated_at) VALUES (?, ?)").bind(accountId, now),
    db.prepare("SELECT bucket, balance FROM credit_balances WHERE account_id = ?").bind(accountId),
    db
      .prepare(
        `SELECT h.id, h.reference, h.amount, h.from_included, h.from_purchased, h.budget_key, h.budget_period_start,
           h.created_at, h.expires_at
         FROM credit_holds AS h LEFT JOIN credit_hold_closures AS c ON c.hold_id = h.id
         WHERE h.account_id = ? AND c.hold_id IS NULL`,
      )
      .bind(accountId),
    db
      .prepare(
        "SELECT budget_key, period_start, used, limit_value FROM credit_budget_usage WHERE account_id = ? AND period_start >= ?",
      )
      .bind(accountId, since),
    db
      .prepare(
        `SELECT session_id, sum(requested) AS requested, sum(clawed) AS clawed, sum(shortfall) AS shortfall
         FROM credit_clawbacks WHERE account_id = ? GROUP BY session_id`,
      )
      .bind(accountId),
    db
      .prepare(
        "SELECT reference, plan_id, period_start, period_end, millicredits, expired_at FROM included_credit_grants WHERE account_id = ?",
      )
      .bind(accountId),
    db
      .prepare(
        "SELECT metric, period_start, used, limit_value FROM quota_usage WHERE account_id = ? AND (period_start = 0 OR period_start >= ?)",
      )
      .bind(accountId, since),
    db.prepare("SELECT deleted_at FROM wallet_migrations WHERE account_id = ?").bind(accountId),
  ]);
  const rows = <T>(index: number) => (results[index]?.results ?? []) as T[];
  if (rows<{ deleted_at: number | null }>(7)[0]?.deleted_at) return "deleted";
  return {
    balances: rows<SnapshotBalance>(1),
    holds: rows<SnapshotHold>(2),
    budgets: rows<SnapshotBudget>(3),
    clawbacks: rows<SnapshotClawback>(4),
    grants: rows<SnapshotGrant>(5),
    counters: rows<SnapshotCounter>(6),
  };
}

/** Whether a reference was applied to the account's pre-wallet ledger (a grant redelivered after migration). */
export async function appliedBeforeWallet(db: D1Database, accountId: string, reference: string): Promise<boolean> {
  const row = await db
    .prepare("SELECT 1 AS found FROM credit_ledger WHERE account_id = ? AND reference = ? AND seq IS NULL")
    .bind(accountId, reference)
    .first();
  return row !== null;
}
