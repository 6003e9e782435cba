import { newId, newSequencedId } from "../../../platform/ids";
import type { Snapshot } from "./migration";
import {
  type Balances,
  type Budget,
  type CounterTake,
  CREDIT_BUCKETS,
  type CreditBucket,
  type GrantInput,
  type HoldInput,
  type HoldView,
  type IncludedPeriod,
  type LedgerEntry,
  type Refusal,
  type SettleInput,
  type WalletRecord,
} from "./protocol";
import { WALLET_SCHEMA } from "./schema";

/**
 * One account's books in its wallet's SQLite: balances, holds, budgets, counters, included
 * periods and the ledger. The object is their only writer and calls each operation inside one
 * synchronous transaction, so an operation reads and writes without anyone in between, and one
 * that refuses (by throwing `Refused`) leaves nothing behind. Amounts are whole millicredits.
 */

/** A domain refusal, thrown to roll the transaction back and answered as a value. */
export class Refused extends Error {
  constructor(readonly refusal: Refusal) {
    super(refusal.detail);
  }
}

const refuse = (code: Refusal["code"], detail: string, extra: Partial<Refusal> = {}): never => {
  throw new Refused({ ok: false, code, detail, ...extra });
};

/** The first instant of a budget's day or month (UTC) at `now`. */
export function budgetPeriodStart(period: Budget["period"], now: number): number {
  const date = new Date(now);
  return period === "day"
    ? Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate())
    : Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), 1);
}

export type HoldRow = {
  id: string;
  reference: string;
  amount: number;
  from_included: number;
  from_purchased: number;
  budget_key: string | null;
  budget_period_start: number | null;
  counter_metric: string | null;
  counter_period_start: number | null;
  counter_amount: number | null;
  created_at: number;
  expires_at: number;
  closed_kind: "settled" | "released" | "expired" | null;
  charged: number | null;
  shortfall: number | null;
  late_charged: number | null;
};

const holdView = (row: HoldRow): HoldView => ({
  id: row.id,
  reference: row.reference,
  amount: row.amount,
  fromIncluded: row.from_included,
  fromPurchased: row.from_purchased,
  createdAt: row.created_at,
  expiresAt: row.expires_at,
});

export class Book {
  constructor(private readonly sql: SqlStorage) {}

  /** Creates the schema if it is missing (once per instance is enough). */
  ensureSchema(): void {
    this.sql.exec(WALLET_SCHEMA);
  }

  /** Gives a fresh wallet to its account; answers the account the wallet belongs to. */
  claim(accountId: string): string {
    this.sql.exec(
      "INSERT INTO state (id, account_id, next_seq, confirmed_seq) VALUES (1, ?, 1, 0) ON CONFLICT (id) DO NOTHING",
      accountId,
    );
    for (const bucket of CREDIT_BUCKETS) {
      this.sql.exec("INSERT INTO balances VALUES (?, 0, 0) ON CONFLICT (bucket) DO NOTHING", bucket);
    }
    return this.accountId() ?? accountId;
  }

  accountId(): string | null {
    const [row] = this.sql.exec<{ account_id: string }>("SELECT account_id FROM state").toArray();
    return row?.account_id ?? null;
  }

  /** Takes the next number of the wallet's sequence. */
  private nextSeq(): number {
    return this.sql
      .exec<{ seq: number }>("UPDATE state SET next_seq = next_seq + 1 RETURNING next_seq - 1 AS seq")
      .one().seq;
  }

  /** Appends a row to the outbox under `seq` (the next sequence number by default), which it answers. */
  private ship(kind: "ledger" | "counter" | "record", body: unknown, seq = this.nextSeq()): number {
    this.sql.exec("INSERT INTO outbox (seq, kind, body) VALUES (?, ?, ?)", seq, kind, JSON.stringify(body));
    return seq;
  }

  private bucket(bucket: CreditBucket) {
    return this.sql
      .exec<{ balance: number; held: number }>("SELECT balance, held FROM balances WHERE bucket = ?", bucket)
      .one();
  }

  /** What each bucket can spend now: its balance less what open holds keep of it. */
  spendable(): Record<CreditBucket, number> {
    const included = this.bucket("included");
    const purchased = this.bucket("purchased");
    return { included: included.balance - included.held, purchased: purchased.balance - purchased.held };
  }

  private ledgerEntry(reference: string): LedgerEntry | null {
    const [row] = this.sql
      .exec<{
        seq: number;
        id: string;
        bucket: CreditBucket;
        amount: number;
        reason: string;
        reference: string;
        balance_after: number;
        created_at: number;
      }>("SELECT * FROM ledger WHERE reference = ?", reference)
      .toArray();
    return row
      ? {
          seq: row.seq,
          id: row.id,
          bucket: row.bucket,
          amount: row.amount,
          reason: row.reason,
          reference: row.reference,
          balanceAfter: row.balance_after,
          createdAt: row.created_at,
        }
      : null;
  }

  hasReference(reference: string): boolean {
    return this.ledgerEntry(reference) !== null;
  }

  /**
   * Moves `amount` into (or out of) a bucket with its ledger row, once per reference (a
   * reference seen before changes nothing and answers null). A removal may not take what is
   * held: `insufficient_credits`.
   */
  move(bucket: CreditBucket, amount: number, reason: string, reference: string, now: number): LedgerEntry | null {
    if (amount === 0 || this.hasReference(reference)) return null;
    const { balance, held } = this.bucket(bucket);
    const after = balance + amount;
    if (after < held) refuse("insufficient_credits", "The balance would go below zero.", { available: balance - held });
    this.sql.exec("UPDATE balances SET balance = ? WHERE bucket = ?", after, bucket);
    const seq = this.nextSeq();
    const entry = {
      id: newSequencedId("led", now, seq),
      bucket,
      amount,
      reason,
      reference,
      balanceAfter: after,
      createdAt: now,
    };
    this.ship("ledger", entry, seq);
    this.sql.exec(
      "INSERT INTO ledger (seq, id, bucket, amount, reason, reference, balance_after, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
      seq,
      entry.id,
      bucket,
      amount,
      reason,
      reference,
      after,
      now,
    );
    return { seq, ...entry };
  }

  grant(input: GrantInput, now: number): LedgerEntry | null {
    return this.move(input.bucket, input.amount, input.reason, input.reference, now);
  }

  balances(): Balances {
    const rows = this.sql
      .exec<{ bucket: CreditBucket; balance: number; held: number }>("SELECT * FROM balances")
      .toArray();
    const of = (bucket: CreditBucket) => rows.find((row) => row.bucket === bucket) ?? { balance: 0, held: 0 };
    const holds = this.sql
      .exec<HoldRow>("SELECT * FROM holds WHERE closed_at IS NULL ORDER BY created_at, id")
      .toArray()
      .map(holdView);
    const held = of("included").held + of("purchased").held;
    const total = of("included").balance + of("purchased").balance;
    return {
      balances: { included: of("included").balance, purchased: of("purchased").balance },
      held,
      available: total - held,
      holds,
    };
  }

  budgetLeft(budget: Budget, now: number): number {
    const [row] = this.sql
      .exec<{ used: number }>(
        "SELECT used FROM budgets WHERE budget_key = ? AND period_start = ?",
        budget.key,
        budgetPeriodStart(budget.period, now),
      )
      .toArray();
    return Math.max(0, budget.limit - (row?.used ?? 0));
  }

  counterUsed(metric: string, periodStart: number): number {
    const [row] = this.sql
      .exec<{ used: number }>("SELECT used FROM counters WHERE metric = ? AND period_start = ?", metric, periodStart)
      .toArray();
    return row?.used ?? 0;
  }

  /** Adds to a counter (negative: gives back, never below zero), shipping its new value. */
  private count(metric: string, periodStart: number, amount: number, limit: number | null): void {
    const [row] = this.sql
      .exec<{ used: number; limit_value: number }>(
        "SELECT used, limit_value FROM counters WHERE metric = ? AND period_start = ?",
        metric,
        periodStart,
      )
      .toArray();
    const used = Math.max(0, (row?.used ?? 0) + amount);
    const limitValue = limit ?? row?.limit_value ?? 0;
    this.sql.exec(
      `INSERT INTO counters (metric, period_start, used, limit_value) VALUES (?, ?, ?, ?)
       ON CONFLICT (metric, period_start) DO UPDATE SET used = excluded.used, limit_value = excluded.limit_value`,
      metric,
      periodStart,
      used,
      limitValue,
    );
    this.ship("counter", { metric, periodStart, used, limit: limitValue });
  }

  private takeCounter(take: CounterTake): void {
    const used = this.counterUsed(take.metric, take.periodStart);
    if (used + take.amount > take.limit) {
      const left = Math.max(0, take.limit - used);
      refuse(
        "quota_exceeded",
        `This would use ${take.amount} of the ${left} ${take.metric.replaceAll("_", " ")} left this period.`,
        {
          quota: { metric: take.metric, used, limit: take.limit, resetsAt: take.resetsAt },
        },
      );
    }
    this.count(take.metric, take.periodStart, take.amount, take.limit);
  }

  /**
   * Sets `amount` aside for `reference` (included credits first), taking the counter and the
   * budget in the same step: `quota_exceeded`, `budget_exceeded`, `insufficient_credits` in that
   * order. The same reference again answers its open hold (a retry); a different amount, or a
   * hold that has ended, is `conflict`. An amount of 0 takes only the counter.
   */
  hold(input: HoldInput, now: number): HoldView | null {
    const [existing] = this.sql.exec<HoldRow>("SELECT * FROM holds WHERE reference = ?", input.reference).toArray();
    if (existing) {
      const same = existing.amount === input.amount && existing.budget_key === (input.budget?.key ?? null);
      if (same && existing.closed_kind === null) return holdView(existing);
      return refuse(
        "conflict",
        same ? "This reference's hold has already ended." : "This reference already holds a different reservation.",
      );
    }
    if (input.included) this.grantIncluded(input.accountId, input.included, now, { onlyIfUncovered: true });
    if (input.amount === 0) {
      if (!input.counter) throw new Error("a hold of nothing needs a counter");
      if (this.sql.exec("SELECT 1 FROM counted WHERE reference = ?", input.reference).toArray().length > 0) return null;
      this.takeCounter(input.counter);
      const { metric, periodStart, amount } = input.counter;
      this.sql.exec("INSERT INTO counted VALUES (?, ?, ?, ?, 0, ?)", input.reference, metric, periodStart, amount, now);
      return null;
    }
    if (input.counter) this.takeCounter(input.counter);
    const spendable = this.spendable();
    const available = spendable.included + spendable.purchased;
    const budgetPeriod = input.budget ? budgetPeriodStart(input.budget.period, now) : null;
    if (input.budget) {
      const left = this.budgetLeft(input.budget, now);
      if (input.amount > left) {
        const period = input.budget.period === "day" ? "daily" : "monthly";
        refuse("budget_exceeded", `This request would pass the ${period} budget of "${input.budget.key}".`, {
          available,
          budgetLeft: left,
        });
      }
      this.sql.exec(
        `INSERT INTO budgets (budget_key, period_start, used, limit_value) VALUES (?, ?, ?, ?)
         ON CONFLICT (budget_key, period_start) DO UPDATE SET used = used + excluded.used, limit_value = excluded.limit_value`,
        input.budget.key,
        budgetPeriod,
        input.amount,
        input.budget.limit,
      );
    }
    if (input.amount > available) {
      refuse("insufficient_credits", "Not enough credits for this request.", {
        available,
        ...(input.budget ? { budgetLeft: this.budgetLeft(input.budget, now) + input.amount } : {}),
      });
    }
    const fromIncluded = Math.min(input.amount, spendable.included);
    const row: HoldRow = {
      id: newId("hld", now),
      reference: input.reference,
      amount: input.amount,
      from_included: fromIncluded,
      from_purchased: input.amount - fromIncluded,
      budget_key: input.budget?.key ?? null,
      budget_period_start: budgetPeriod,
      counter_metric: input.counter?.metric ?? null,
      counter_period_start: input.counter?.periodStart ?? null,
      counter_amount: input.counter?.amount ?? null,
      created_at: now,
      expires_at: input.expiresAt,
      closed_kind: null,
      charged: null,
      shortfall: null,
      late_charged: null,
    };
    this.insertHold(row);
    return holdView(row);
  }

  /** Stores an open hold and keeps its parts out of what the buckets can spend. */
  insertHold(row: HoldRow): void {
    this.sql.exec(
      `INSERT INTO holds (id, reference, amount, from_included, from_purchased, budget_key, budget_period_start,
         counter_metric, counter_period_start, counter_amount, created_at, expires_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      row.id,
      row.reference,
      row.amount,
      row.from_included,
      row.from_purchased,
      row.budget_key,
      row.budget_period_start,
      row.counter_metric,
      row.counter_period_start,
      row.counter_amount,
      row.created_at,
      row.expires_at,
    );
    this.sql.exec("UPDATE balances SET held = held + ? WHERE bucket = 'included'", row.from_included);
    this.sql.exec("UPDATE balances SET held = held + ? WHERE bucket = 'purchased'", row.from_purchased);
  }

  /** Gives back what a counter-only take counted (its work failed), once. */
  uncount(reference: string): void {
    const [row] = this.sql
      .exec<{ metric: string; period_start: number; amount: number }>(
        "UPDATE counted SET returned = 1 WHERE reference = ? AND returned = 0 RETURNING metric, period_start, amount",
        reference,
      )
      .toArray();
    if (row) this.count(row.metric, row.period_start, -row.amount, null);
  }

  /** Ships records of work that held nothing (charged 0). */
  record(records: WalletRecord[], charged: number, now: number): void {
    for (const record of records) this.ship("record", { ...record, charged, createdAt: now });
  }

  /**
   * Ends a hold once: charges `min(actual, amount)` (included part first; what `actual` passed
   * the hold by is its shortfall, never charged), returns the rest to the buckets and the
   * budget, gives back its counter when its work failed, and ships `records` with the charge.
   * Settling again answers the first settlement (a retry whose answer was lost). A hold the
   * alarm expired first is charged late, from what the account has now, once.
   */
  settle(input: SettleInput, now: number): { charged: number; shortfall: number; late: boolean } {
    const [hold] = this.sql.exec<HoldRow>("SELECT * FROM holds WHERE reference = ?", input.reference).toArray();
    if (!hold) return refuse("not_found", "No such hold.");
    if (!input.keepCount) this.giveBackCounter(hold);
    if (hold.closed_kind === "expired") return this.chargeLate(hold, input, now);
    if (hold.closed_kind !== null) {
      return { charged: hold.charged ?? 0, shortfall: hold.shortfall ?? 0, late: false };
    }
    const charged = Math.min(input.actual, hold.amount);
    const shortfall = Math.max(0, input.actual - hold.amount);
    const fromIncluded = Math.min(charged, hold.from_included);
    this.close(hold, input.actual > 0 ? "settled" : "released", charged, shortfall, now);
    this.move("included", -fromIncluded, "spend", `spend:${hold.id}:included`, now);
    this.move("purchased", -(charged - fromIncluded), "spend", `spend:${hold.id}:purchased`, now);
    this.expireReturned(hold, hold.from_included - fromIncluded, now);
    this.record(input.records, charged, now);
    return { charged, shortfall, late: false };
  }

  /** What a hold took of a counter goes back (its work failed), once. */
  private giveBackCounter(hold: HoldRow): void {
    if (hold.counter_metric === null || !hold.counter_amount) return;
    this.count(hold.counter_metric, hold.counter_period_start ?? 0, -hold.counter_amount, null);
    this.sql.exec("UPDATE holds SET counter_amount = 0 WHERE id = ?", hold.id);
  }

  /** Marks a hold closed and frees what it kept in the buckets and its budget. */
  private close(
    hold: HoldRow,
    kind: "settled" | "released" | "expired",
    charged: number,
    shortfall: number,
    now: number,
  ) {
    this.sql.exec(
      "UPDATE holds SET closed_kind = ?, charged = ?, shortfall = ?, closed_at = ? WHERE id = ?",
      kind,
      charged,
      shortfall,
      now,
      hold.id,
    );
    this.sql.exec("UPDATE balances SET held = held - ? WHERE bucket = 'included'", hold.from_included);
    this.sql.exec("UPDATE balances SET held = held - ? WHERE bucket = 'purchased'", hold.from_purchased);
    if (hold.budget_key !== null) {
      this.sql.exec(
        "UPDATE budgets SET used = max(0, used - ?) WHERE budget_key = ? AND period_start = ?",
        hold.amount - charged,
        hold.budget_key,
        hold.budget_period_start,
      );
    }
  }

  /**
   * Included credits a hold returns from a period that ended while it was open leave with that
   * period (`expireGrant` could not take what the hold kept): up to what was held then.
   */
  private expireReturned(hold: HoldRow, returned: number, now: number): void {
    const { included_expiring: expiring, included_expired_at: expiredAt } = this.sql
      .exec<{ included_expiring: number; included_expired_at: number | null }>(
        "SELECT included_expiring, included_expired_at FROM state",
      )
      .one();
    // Holds of the new period (taken at the expiry's instant or after, in its transaction too) are not.
    if (returned <= 0 || expiring <= 0 || expiredAt === null || hold.created_at >= expiredAt) return;
    const expired = Math.min(returned, expiring);
    this.sql.exec("UPDATE state SET included_expiring = included_expiring - ?", expired);
    this.move("included", -expired, "included_expired", `expire:${hold.id}`, now);
  }

  private chargeLate(hold: HoldRow, input: SettleInput, now: number) {
    if (hold.late_charged !== null) {
      return { charged: hold.late_charged, shortfall: Math.max(0, input.actual - hold.late_charged), late: true };
    }
    const spendable = this.spendable();
    const fromIncluded = Math.min(input.actual, spendable.included);
    const fromPurchased = Math.min(input.actual - fromIncluded, spendable.purchased);
    this.move("included", -fromIncluded, "late_charge", `late:${hold.id}:included`, now);
    this.move("purchased", -fromPurchased, "late_charge", `late:${hold.id}:purchased`, now);
    const charged = fromIncluded + fromPurchased;
    this.sql.exec("UPDATE holds SET late_charged = ? WHERE id = ?", charged, hold.id);
    this.record(input.records, charged, now);
    return { charged, shortfall: input.actual - charged, late: true };
  }

  /** Closes holds whose time ran out, charging nothing (their owner may still settle late). */
  expireHolds(now: number): number {
    const expired = this.sql
      .exec<HoldRow>("SELECT * FROM holds WHERE closed_at IS NULL AND expires_at <= ?", now)
      .toArray();
    for (const hold of expired) {
      this.close(hold, "expired", 0, 0, now);
      this.expireReturned(hold, hold.from_included, now);
    }
    return expired.length;
  }

  /**
   * Grants a period's included credits once (`plan:<account>:<period start>`), expiring what is
   * left of earlier periods first. Nothing when the period is over, a later one was granted,
   * or (`onlyIfUncovered`, the lazy grant of the first touch) a grant already covers now.
   */
  grantIncluded(accountId: string, period: IncludedPeriod, now: number, options: { onlyIfUncovered?: boolean } = {}) {
    if (period.amount <= 0 || period.periodEnd <= now) return false;
    const reference = `plan:${accountId}:${period.periodStart}`;
    const grants = this.sql
      .exec<{ reference: string; period_start: number; period_end: number; expired_at: number | null }>(
        "SELECT reference, period_start, period_end, expired_at FROM grants",
      )
      .toArray();
    if (grants.some((grant) => grant.reference === reference || grant.period_start > period.periodStart)) return false;
    const covering = grants.some(
      (grant) => grant.period_start <= now && grant.period_end > now && grant.expired_at === null,
    );
    if (options.onlyIfUncovered && covering) return false;
    if (this.hasReference(reference)) return false;
    for (const grant of grants) if (grant.expired_at === null) this.expireGrant(grant.reference, now);
    this.sql.exec(
      "INSERT INTO grants (reference, plan_id, period_start, period_end, amount) VALUES (?, ?, ?, ?, ?)",
      reference,
      period.planId,
      period.periodStart,
      period.periodEnd,
      period.amount,
    );
    this.move("included", period.amount, "included", reference, now);
    return true;
  }

  /** What is left of the included bucket (beyond what holds keep) leaves it with its period. */
  private expireGrant(reference: string, now: number): void {
    this.sql.exec("UPDATE grants SET expired_at = ? WHERE reference = ?", now, reference);
    this.move("included", -this.spendable().included, "included_expired", `expire:${reference}`, now);
    // What open holds keep of it expires as they return it (`expireReturned`).
    this.sql.exec(
      "UPDATE state SET included_expiring = (SELECT held FROM balances WHERE bucket = 'included'), included_expired_at = ?",
      now,
    );
  }

  /** Expires grants whose period has ended. */
  expireEndedGrants(now: number): number {
    const ended = this.sql
      .exec<{ reference: string }>("SELECT reference FROM grants WHERE expired_at IS NULL AND period_end <= ?", now)
      .toArray();
    for (const grant of ended) this.expireGrant(grant.reference, now);
    return ended.length;
  }

  /**
   * Takes back a refunded credit pack's credits up to `target` in total for its checkout
   * session, never below zero: what was spent already is the shortfall.
   */
  clawBack(sessionId: string, target: number, now: number) {
    const [taken] = this.sql
      .exec<{ requested: number; clawed: number; shortfall: number }>(
        "SELECT * FROM clawbacks WHERE session_id = ?",
        sessionId,
      )
      .toArray();
    const already = taken?.requested ?? 0;
    const requested = target - already;
    if (requested <= 0) return { requested: 0, clawed: 0, shortfall: 0 };
    const clawed = Math.min(requested, this.spendable().purchased);
    this.move("purchased", -clawed, "refund", `clawback:${sessionId}:${already}`, now);
    this.sql.exec(
      `INSERT INTO clawbacks VALUES (?, ?, ?, ?) ON CONFLICT (session_id) DO UPDATE SET
         requested = requested + excluded.requested, clawed = clawed + excluded.clawed, shortfall = shortfall + excluded.shortfall`,
      sessionId,
      requested,
      clawed,
      requested - clawed,
    );
    return { requested, clawed, shortfall: requested - clawed };
  }

  /**
   * Takes over a migrated account's pre-wallet credits (`migration.ts`): each bucket opens with
   * what it had plus what its open holds had taken (they keep it again here), and the holds,
   * budgets, clawbacks, included periods and counters carry on as they were.
   */
  adopt(accountId: string, snapshot: Snapshot, now: number): void {
    for (const bucket of CREDIT_BUCKETS) {
      const free = snapshot.balances.find((row) => row.bucket === bucket)?.balance ?? 0;
      const held = snapshot.holds.reduce(
        (sum, hold) => sum + (bucket === "included" ? hold.from_included : hold.from_purchased),
        0,
      );
      this.move(bucket, free + held, "migrated", `migrate:${accountId}:${bucket}`, now);
    }
    for (const hold of snapshot.holds) {
      this.insertHold({
        ...hold,
        counter_metric: null,
        counter_period_start: null,
        counter_amount: null,
        closed_kind: null,
        charged: null,
        shortfall: null,
        late_charged: null,
      });
    }
    for (const budget of snapshot.budgets) {
      this.sql.exec(
        "INSERT INTO budgets VALUES (?, ?, ?, ?)",
        budget.budget_key,
        budget.period_start,
        budget.used,
        budget.limit_value,
      );
    }
    for (const clawback of snapshot.clawbacks) {
      this.sql.exec(
        "INSERT INTO clawbacks VALUES (?, ?, ?, ?)",
        clawback.session_id,
        clawback.requested,
        clawback.clawed,
        clawback.shortfall,
      );
    }
    for (const grant of snapshot.grants) {
      this.sql.exec(
        "INSERT INTO grants VALUES (?, ?, ?, ?, ?, ?)",
        grant.reference,
        grant.plan_id,
        grant.period_start,
        grant.period_end,
        grant.millicredits,
        grant.expired_at,
      );
    }
    for (const counter of snapshot.counters)
      this.count(counter.metric, counter.period_start, counter.used, counter.limit_value);
    this.sql.exec("UPDATE state SET migrated_at = ?", now);
  }

  /** The earliest time something is due: an open hold's expiry or a grant's period end. */
  nextDeadline(): number | null {
    const { at } = this.sql
      .exec<{ at: number | null }>(
        `SELECT min(at) AS at FROM (
           SELECT min(expires_at) AS at FROM holds WHERE closed_at IS NULL
           UNION ALL SELECT min(period_end) FROM grants WHERE expired_at IS NULL)`,
      )
      .one();
    return at;
  }

  /** Closed holds and counter takes older than `before` are forgotten (their references with them). */
  forgetClosed(before: number): void {
    this.sql.exec("DELETE FROM holds WHERE closed_at IS NOT NULL AND closed_at < ?", before);
    this.sql.exec("DELETE FROM counted WHERE created_at < ?", before);
  }
}
