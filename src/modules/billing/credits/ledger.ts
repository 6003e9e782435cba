import { and, eq, inArray, isNull, lte } from "drizzle-orm";
import { clock } from "../../../platform/clock";
import { type BatchStatement, database, isCheckViolation, isUniqueViolation, returningAll } from "../../../platform/db";
import { AppError } from "../../../platform/errors";
import { newId } from "../../../platform/ids";
import { keyset, toPage } from "../../../platform/pagination";
import {
  CREDIT_BUCKETS,
  type CreditBucket,
  creditBalances,
  creditBudgetUsage,
  creditHoldClosures,
  creditHolds,
  creditLedger,
} from "../tables";

/**
 * The credit ledger's service API for other modules: `grant`, `adjust`, `reserve` → hold,
 * `settle(hold, actual)`, `release(hold)`. Every change is one D1 batch whose invariants are
 * constraints (see `tables.ts`): a batch that would break one fails as a whole, so nothing is
 * half-applied and concurrent callers can never overspend. Amounts are millicredits.
 */

/** A SQL expression for an amount, and its bound values. */
type Amount = { sql: string; params: unknown[] };
export const literal = (value: number): Amount => ({ sql: "?", params: [value] });

/**
 * One movement on a bucket (its amount expression is evaluated twice, so it must not depend on
 * the balance it changes): make sure its balance row exists, change it unconditionally (its
 * CHECK refuses a negative result; SQLite checks an upsert's candidate row before the
 * conflict, so a negative upsert would fail even with funds), and append the ledger row with
 * the balance after it. A zero amount changes nothing and writes no ledger row.
 */
export function movement(
  env: Env,
  move: { accountId: string; bucket: CreditBucket; amount: Amount; reason: string; reference: string; now: number },
) {
  const { accountId, bucket, amount, reason, reference, now } = move;
  return [
    env.DB.prepare(
      "INSERT INTO credit_balances (account_id, bucket, balance) VALUES (?, ?, 0) ON CONFLICT (account_id, bucket) DO NOTHING",
    ).bind(accountId, bucket),
    env.DB.prepare(
      `UPDATE credit_balances SET balance = balance + coalesce((${amount.sql}), 0) WHERE account_id = ? AND bucket = ?`,
    ).bind(...amount.params, accountId, bucket),
    env.DB.prepare(
      `INSERT INTO credit_ledger (id, account_id, bucket, amount, reason, reference, balance_after, created_at)
       SELECT ?, ?, ?, amount, ?, ?,
         (SELECT balance FROM credit_balances WHERE account_id = ? AND bucket = ?), ?
       FROM (SELECT (${amount.sql}) AS amount) WHERE amount <> 0`,
    ).bind(newId("led", now), accountId, bucket, reason, reference, accountId, bucket, now, ...amount.params),
  ];
}

type Grant = { accountId: string; bucket: CreditBucket; amount: number; reason: string; reference: string };

/**
 * Adds (or, negative, removes) credits once per `reference`, with `alongside` statements in the
 * same batch (an audit entry). Returns false when the reference was applied before; a removal
 * that would go below zero is `insufficient_credits`.
 */
export async function grant(env: Env, entry: Grant, alongside: BatchStatement[] = []): Promise<boolean> {
  if (!Number.isSafeInteger(entry.amount) || entry.amount === 0) throw new Error("a grant needs a non-zero integer");
  try {
    await env.DB.batch([...movement(env, { ...entry, amount: literal(entry.amount), now: clock.now() }), ...alongside]);
    return true;
  } catch (error) {
    if (isUniqueViolation(error)) return false;
    if (isCheckViolation(error)) throw new AppError("insufficient_credits", "The balance would go below zero.");
    throw error;
  }
}

export type Hold = typeof creditHolds.$inferSelect;

/** A spending cap for one key (say an API key) per calendar day or month, UTC. */
export type Budget = { key: string; limit: number; period: "day" | "month" };

function periodStart(period: Budget["period"], now: number): number {
  const date = new Date(now);
  return period === "day"
    ? Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate())
    : Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), 1);
}

/** What `budget` still allows in its current period (its limit, until a hold has counted against it). */
export async function budgetLeft(env: Env, accountId: string, budget: Budget): Promise<number> {
  const [row] = await database(env)
    .select({ used: creditBudgetUsage.used })
    .from(creditBudgetUsage)
    .where(
      and(
        eq(creditBudgetUsage.accountId, accountId),
        eq(creditBudgetUsage.budgetKey, budget.key),
        eq(creditBudgetUsage.periodStart, periodStart(budget.period, clock.now())),
      ),
    );
  return Math.max(0, budget.limit - (row?.used ?? 0));
}

/**
 * Sets `amount` aside for `reference`, from `included` first, then `purchased`; 402
 * `insufficient_credits` when both together fall short, 402 `budget_exceeded` when `budget`
 * is given and the hold would pass it (what holds return is given back to the budget).
 * Reserving a reference again returns its hold (a retry), unless the amount differs (409).
 * The hold lapses at `expiresAt`: a job's deadline, or a request's CREDIT_HOLD_TTL_SECONDS on.
 */
export async function reserve(
  env: Env,
  accountId: string,
  amount: number,
  reference: string,
  options: { budget?: Budget; expiresAt: number },
): Promise<Hold> {
  if (!Number.isSafeInteger(amount) || amount <= 0) throw new Error("a reservation needs a positive integer");
  const now = clock.now();
  const holdId = newId("hld", now);
  const { budget, expiresAt } = options;
  const budgetPeriod = budget ? periodStart(budget.period, now) : null;
  const part = (bucket: CreditBucket): Amount => ({
    sql: `-(SELECT from_${bucket} FROM credit_holds WHERE id = ?)`,
    params: [holdId],
  });
  let inserted: D1Result<Hold>;
  try {
    [inserted] = (await env.DB.batch([
      env.DB.prepare(
        `INSERT INTO credit_holds (id, account_id, reference, amount, from_included, from_purchased, created_at,
           expires_at, budget_key, budget_period_start)
         SELECT ?1, ?2, ?3, ?4, included, ?4 - included, ?5, ?6, ?7, ?8 FROM (SELECT min(?4, coalesce(
           (SELECT balance FROM credit_balances WHERE account_id = ?2 AND bucket = 'included'), 0)) AS included)
         RETURNING ${returningAll(creditHolds)}`,
      ).bind(holdId, accountId, reference, amount, now, expiresAt, budget?.key ?? null, budgetPeriod),
      ...(budget
        ? [
            env.DB.prepare(
              `INSERT INTO credit_budget_usage (account_id, budget_key, period_start, used, limit_value)
               VALUES (?, ?, ?, ?, ?) ON CONFLICT (account_id, budget_key, period_start)
               DO UPDATE SET used = used + excluded.used, limit_value = excluded.limit_value`,
            ).bind(accountId, budget.key, budgetPeriod, amount, budget.limit),
          ]
        : []),
      ...CREDIT_BUCKETS.flatMap((bucket) =>
        movement(env, {
          accountId,
          bucket,
          amount: part(bucket),
          reason: "hold",
          reference: `hold:${holdId}:${bucket}`,
          now,
        }),
      ),
    ])) as [D1Result<Hold>];
  } catch (error) {
    if (isCheckViolation(error, "credit_budget_usage_within_limit")) {
      const period = budget?.period === "day" ? "daily" : "monthly";
      throw new AppError("budget_exceeded", `This request would pass the ${period} budget of "${budget?.key}".`);
    }
    if (isCheckViolation(error)) throw new AppError("insufficient_credits", "Not enough credits for this request.");
    if (!isUniqueViolation(error)) throw error;
    const [existing] = await database(env)
      .select({ hold: creditHolds, closedAt: creditHoldClosures.closedAt })
      .from(creditHolds)
      .leftJoin(creditHoldClosures, eq(creditHoldClosures.holdId, creditHolds.id))
      .where(and(eq(creditHolds.accountId, accountId), eq(creditHolds.reference, reference)));
    const same = existing && existing.hold.amount === amount && existing.hold.budgetKey === (budget?.key ?? null);
    if (same && existing.closedAt === null) return existing.hold;
    throw new AppError(
      "conflict",
      same ? "This reference's hold has already ended." : "This reference already holds a different reservation.",
    );
  }
  const [hold] = inserted.results;
  if (!hold) throw new Error(`hold ${holdId} is missing after its batch`);
  return hold;
}

type Closure = typeof creditHoldClosures.$inferSelect;

/**
 * Ends a hold once, in one batch with `alongside` (a usage row): charges `min(actual, held)`,
 * records what `actual` exceeded the hold by as a shortfall (never charged), and returns the
 * rest, purchased credits first (they never expire). A hold already ended is 409. A hold
 * that is not the given account's is 404 and changes nothing: the closure row is written only
 * for the stored (hold, account) pair, every other statement reads its amounts from it, and
 * without it the batch fails on purpose.
 */
async function close(
  env: Env,
  hold: Hold,
  kind: Closure["kind"],
  actual: number,
  alongside: BatchStatement[] = [],
): Promise<Closure> {
  if (!Number.isSafeInteger(actual) || actual < 0) throw new Error("a settlement needs a non-negative integer");
  const now = clock.now();
  const returned = (bucket: CreditBucket): Amount => ({
    sql: `(SELECT returned_${bucket} FROM credit_hold_closures WHERE hold_id = ?)`,
    params: [hold.id],
  });
  let closed: D1Result<Closure>;
  try {
    [closed] = (await env.DB.batch([
      env.DB.prepare(
        `INSERT INTO credit_hold_closures (hold_id, kind, charged, returned_included, returned_purchased, shortfall, closed_at)
         SELECT id, ?2, charged, amount - charged - back_purchased, back_purchased, max(?3 - amount, 0), ?4
         FROM (SELECT id, amount, min(?3, amount) AS charged, min(amount - min(?3, amount), from_purchased) AS back_purchased
               FROM credit_holds WHERE id = ?1 AND account_id = ?5)
         RETURNING ${returningAll(creditHoldClosures)}`,
      ).bind(hold.id, kind, actual, now, hold.accountId),
      // No closure (no such hold for this account): an impossible closure breaks the amounts
      // CHECK, so the whole batch, `alongside` included, fails.
      env.DB.prepare(
        `INSERT INTO credit_hold_closures (hold_id, kind, charged, returned_included, returned_purchased, shortfall, closed_at)
         SELECT ?1, 'released', -1, 0, 0, 0, 0 WHERE NOT EXISTS (
           SELECT 1 FROM credit_hold_closures JOIN credit_holds ON credit_holds.id = credit_hold_closures.hold_id
           WHERE credit_hold_closures.hold_id = ?1 AND credit_holds.account_id = ?2)`,
      ).bind(hold.id, hold.accountId),
      ...CREDIT_BUCKETS.flatMap((bucket) =>
        movement(env, {
          accountId: hold.accountId,
          bucket,
          amount: returned(bucket),
          reason: `hold_${kind}`,
          reference: `return:${hold.id}:${bucket}`,
          now,
        }),
      ),
      // What returns to the buckets returns to the hold's budget too (none: matches no row).
      env.DB.prepare(
        `UPDATE credit_budget_usage SET used = used - coalesce(
           (SELECT returned_included + returned_purchased FROM credit_hold_closures WHERE hold_id = ?1), 0)
         WHERE (account_id, budget_key, period_start) =
           (SELECT account_id, budget_key, budget_period_start FROM credit_holds WHERE id = ?1)`,
      ).bind(hold.id),
      ...alongside,
    ])) as [D1Result<Closure>];
  } catch (error) {
    if (isUniqueViolation(error, "credit_hold_closures")) {
      throw new AppError("conflict", "This hold was already settled or released.");
    }
    if (isCheckViolation(error, "credit_hold_closures_amounts")) throw new AppError("not_found", "No such hold.");
    throw error;
  }
  const [closure] = closed.results;
  if (!closure) throw new Error(`hold ${hold.id} has no closure after closing`);
  return closure;
}

/**
 * Charges `actual` for the work of `hold` (see `close`), with `alongside` statements (a usage
 * row) in the same batch. If the cron released the hold first (its work outlived
 * `CREDIT_HOLD_TTL_SECONDS`), the work is charged late instead, from what the account has
 * now: `late` says what was charged and what could not be; `alongside` then runs after it.
 */
export async function settle(
  env: Env,
  hold: Hold,
  actual: number,
  alongside: BatchStatement[] = [],
): Promise<Closure & { late?: { charged: number; shortfall: number } }> {
  try {
    return await close(env, hold, "settled", actual, alongside);
  } catch (error) {
    if (!(error instanceof AppError && error.code === "conflict")) throw error;
    const [closure] = await database(env)
      .select()
      .from(creditHoldClosures)
      .where(eq(creditHoldClosures.holdId, hold.id));
    if (closure?.kind !== "expired") throw error;
    const charged = await chargeLate(env, closure.holdId, actual);
    if (alongside.length > 0) await env.DB.batch(alongside);
    return { ...closure, late: { charged, shortfall: actual - charged } };
  }
}

/** At most `actual`, included credits first, once per hold (`late:<hold>:<bucket>`). */
async function chargeLate(env: Env, holdId: string, actual: number): Promise<number> {
  const [hold] = await database(env).select().from(creditHolds).where(eq(creditHolds.id, holdId));
  if (!hold) throw new Error(`hold ${holdId} vanished`);
  const lateCharged = async () => {
    const rows = await database(env)
      .select({ amount: creditLedger.amount })
      .from(creditLedger)
      .where(
        inArray(
          creditLedger.reference,
          CREDIT_BUCKETS.map((bucket) => `late:${holdId}:${bucket}`),
        ),
      );
    return -rows.reduce((sum, row) => sum + row.amount, 0);
  };
  const already = await lateCharged();
  if (already > 0) return already;
  // Balances are read, then charged with a CHECK guard: a concurrent spend makes the batch
  // fail, and it is worked out again.
  for (let attempt = 0; attempt < 3; attempt++) {
    const { balances } = await creditsOf(env, hold.accountId);
    const fromIncluded = Math.min(actual, balances.included);
    const parts = { included: fromIncluded, purchased: Math.min(actual - fromIncluded, balances.purchased) };
    const now = clock.now();
    const statements = CREDIT_BUCKETS.filter((bucket) => parts[bucket] > 0).flatMap((bucket) =>
      movement(env, {
        accountId: hold.accountId,
        bucket,
        amount: literal(-parts[bucket]),
        reason: "late_charge",
        reference: `late:${holdId}:${bucket}`,
        now,
      }),
    );
    if (statements.length === 0) return 0;
    try {
      await env.DB.batch(statements);
      return parts.included + parts.purchased;
    } catch (error) {
      if (isUniqueViolation(error)) return lateCharged();
      if (!isCheckViolation(error)) throw error;
    }
  }
  return lateCharged();
}

/** Returns all of `hold`, with `alongside` statements in the same batch. */
export const release = (env: Env, hold: Hold, alongside: BatchStatement[] = []) =>
  close(env, hold, "released", 0, alongside);

/** Releases holds left open past their expiry (their work died); returns how many. */
export async function releaseExpiredHolds(env: Env, now: number, limit = 100): Promise<number> {
  const expired = await database(env)
    .select({ hold: creditHolds })
    .from(creditHolds)
    .leftJoin(creditHoldClosures, eq(creditHoldClosures.holdId, creditHolds.id))
    .where(and(isNull(creditHoldClosures.holdId), lte(creditHolds.expiresAt, now)))
    .limit(limit);
  let released = 0;
  for (const { hold } of expired) {
    try {
      await close(env, hold, "expired", 0);
      released += 1;
    } catch (error) {
      // Settled meanwhile by its owner: nothing to release.
      if (!(error instanceof AppError && error.code === "conflict")) throw error;
    }
  }
  return released;
}

/** Balances per bucket, open holds and what is available to reserve. */
export async function creditsOf(env: Env, accountId: string) {
  const db = database(env);
  const [balances, holds] = await Promise.all([
    db.select().from(creditBalances).where(eq(creditBalances.accountId, accountId)),
    db
      .select({ hold: creditHolds })
      .from(creditHolds)
      .leftJoin(creditHoldClosures, eq(creditHoldClosures.holdId, creditHolds.id))
      .where(and(eq(creditHolds.accountId, accountId), isNull(creditHoldClosures.holdId))),
  ]);
  const balance = (bucket: CreditBucket) => balances.find((row) => row.bucket === bucket)?.balance ?? 0;
  return {
    accountId,
    balances: { included: balance("included"), purchased: balance("purchased") },
    available: balance("included") + balance("purchased"),
    held: holds.reduce((sum, { hold }) => sum + hold.amount, 0),
    holds: holds.map(({ hold }) => ({
      id: hold.id,
      reference: hold.reference,
      amount: hold.amount,
      createdAt: clock.iso(hold.createdAt),
      expiresAt: clock.iso(hold.expiresAt),
    })),
  };
}

/** The account's ledger, newest first, by cursor. */
export async function ledgerOf(env: Env, accountId: string, page: { limit: number; cursor?: string }) {
  const { after, orderBy } = keyset(page.cursor, creditLedger.createdAt, creditLedger.id, "desc");
  const rows = await database(env)
    .select()
    .from(creditLedger)
    .where(and(eq(creditLedger.accountId, accountId), after))
    .orderBy(...orderBy)
    .limit(page.limit + 1);
  const { items, nextCursor } = toPage(rows, page.limit, (row) => ({ key: row.createdAt, id: row.id }));
  return { items: items.map(publicLedgerEntry), nextCursor };
}

function publicLedgerEntry(row: typeof creditLedger.$inferSelect) {
  const { accountId: _account, createdAt, ...entry } = row;
  return { ...entry, createdAt: clock.iso(createdAt) };
}
