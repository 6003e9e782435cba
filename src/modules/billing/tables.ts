import { sql } from "drizzle-orm";
import { check, index, integer, primaryKey, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";
import { CREDIT_BUCKETS } from "./wallet/protocol";

/**
 * Credits in D1 (ARCHITECTURE.md, Money). Each account's credits live in its `AccountWallet`
 * Durable Object; D1 keeps the wallets' reporting copy (`credit_ledger` rows with a `seq`,
 * `wallet_copies`, `wallet_counter_copies`) and, from before the wallets, the balances, holds
 * and budgets an account's wallet takes over on its first touch. Amounts are integer
 * millicredits (1 credit = 1 000) in two buckets: `included` (the plan's monthly credits, spent
 * first) and `purchased` (never expiring). The pre-wallet invariants are constraints that fail
 * a whole batch: no balance below zero (CHECK), a reference applies at most once (UNIQUE).
 */

export const creditBalances = sqliteTable(
  "credit_balances",
  {
    accountId: text("account_id").notNull(),
    bucket: text("bucket", { enum: CREDIT_BUCKETS }).notNull(),
    balance: integer("balance").notNull(),
  },
  (table) => [
    primaryKey({ columns: [table.accountId, table.bucket] }),
    check("credit_balances_not_negative", sql`${table.balance} >= 0`),
    check("credit_balances_bucket_known", sql`${table.bucket} IN ('included', 'purchased')`),
  ],
);

/** Append-only: never updated or deleted. */
export const creditLedger = sqliteTable(
  "credit_ledger",
  {
    id: text("id").primaryKey(),
    accountId: text("account_id").notNull(),
    bucket: text("bucket", { enum: CREDIT_BUCKETS }).notNull(),
    /** Signed millicredits: a grant is positive, a hold negative, a release positive. */
    amount: integer("amount").notNull(),
    reason: text("reason").notNull(),
    /** What this row applies, once per account: `spend:<hold>:included`, `pack:<checkout id>`, `adjust:<id>`… */
    reference: text("reference").notNull(),
    balanceAfter: integer("balance_after").notNull(),
    createdAt: integer("created_at").notNull(),
    /**
     * The row's number in its account wallet's sequence: rows with one are the wallet's copy
     * (ARCHITECTURE.md, Money), written by the copy consumer; rows without are from before.
     */
    seq: integer("seq"),
  },
  (table) => [
    index("credit_ledger_account").on(table.accountId, table.createdAt, table.id),
    uniqueIndex("credit_ledger_account_seq").on(table.accountId, table.seq),
    // A checkpoint's balance: each bucket's newest copied row at or before a seq.
    index("credit_ledger_account_bucket_seq").on(table.accountId, table.bucket, table.seq),
    // References are unique per account: each wallet keeps its own.
    uniqueIndex("credit_ledger_account_reference").on(table.accountId, table.reference),
    check("credit_ledger_amount_not_zero", sql`${table.amount} <> 0`),
  ],
);

/**
 * Credits set aside for work whose cost is known only afterwards (an AI call): taken from the
 * buckets when reserved (included first), then settled or released exactly once.
 */
export const creditHolds = sqliteTable(
  "credit_holds",
  {
    id: text("id").primaryKey(),
    accountId: text("account_id").notNull(),
    /** The caller's reference: one hold per (account, reference). */
    reference: text("reference").notNull(),
    amount: integer("amount").notNull(),
    fromIncluded: integer("from_included").notNull(),
    fromPurchased: integer("from_purchased").notNull(),
    createdAt: integer("created_at").notNull(),
    expiresAt: integer("expires_at").notNull(),
    /** The budget the hold counts against, if its caller gave one (see `creditBudgetUsage`). */
    budgetKey: text("budget_key"),
    budgetPeriodStart: integer("budget_period_start"),
  },
  (table) => [
    uniqueIndex("credit_holds_account_reference").on(table.accountId, table.reference),
    index("credit_holds_account").on(table.accountId),
    index("credit_holds_expires").on(table.expiresAt),
    check(
      "credit_holds_split",
      sql`${table.fromIncluded} >= 0 AND ${table.fromPurchased} >= 0 AND ${table.fromIncluded} + ${table.fromPurchased} = ${table.amount} AND ${table.amount} > 0`,
    ),
  ],
);

/**
 * How a hold ended, one row per hold: its primary key makes a second settle or release fail.
 * `shortfall` is what the work cost beyond the hold: recorded, never charged.
 */
export const creditHoldClosures = sqliteTable(
  "credit_hold_closures",
  {
    holdId: text("hold_id")
      .primaryKey()
      .references(() => creditHolds.id),
    kind: text("kind", { enum: ["settled", "released", "expired"] }).notNull(),
    charged: integer("charged").notNull(),
    returnedIncluded: integer("returned_included").notNull(),
    returnedPurchased: integer("returned_purchased").notNull(),
    shortfall: integer("shortfall").notNull(),
    closedAt: integer("closed_at").notNull(),
  },
  (table) => [
    check(
      "credit_hold_closures_amounts",
      sql`${table.charged} >= 0 AND ${table.returnedIncluded} >= 0 AND ${table.returnedPurchased} >= 0 AND ${table.shortfall} >= 0`,
    ),
  ],
);

/**
 * Spending budgets a caller sets per key and period (an API key's daily cap, say): what holds
 * took, less what they returned. The CHECK refuses a reservation that would pass the limit.
 */
export const creditBudgetUsage = sqliteTable(
  "credit_budget_usage",
  {
    accountId: text("account_id").notNull(),
    budgetKey: text("budget_key").notNull(),
    periodStart: integer("period_start").notNull(),
    used: integer("used").notNull(),
    limitValue: integer("limit_value").notNull(),
  },
  (table) => [
    primaryKey({ columns: [table.accountId, table.budgetKey, table.periodStart] }),
    check("credit_budget_usage_within_limit", sql`${table.used} >= 0 AND ${table.used} <= ${table.limitValue}`),
  ],
);

/** Credit packs sold, by checkout session: what a refund of its payment claws back from. */
export const creditPackPurchases = sqliteTable(
  "credit_pack_purchases",
  {
    sessionId: text("session_id").primaryKey(),
    accountId: text("account_id").notNull(),
    paymentIntent: text("payment_intent"),
    millicredits: integer("millicredits").notNull(),
    createdAt: integer("created_at").notNull(),
  },
  (table) => [index("credit_pack_purchases_payment_intent").on(table.paymentIntent)],
);

/**
 * Credits taken back after a refund, once per refund state (`refund:<charge>:<amount refunded>`):
 * `clawed` came out of the purchased bucket; `shortfall` had already been spent.
 */
export const creditClawbacks = sqliteTable("credit_clawbacks", {
  reference: text("reference").primaryKey(),
  accountId: text("account_id").notNull(),
  sessionId: text("session_id").notNull(),
  requested: integer("requested").notNull(),
  clawed: integer("clawed").notNull(),
  shortfall: integer("shortfall").notNull(),
  createdAt: integer("created_at").notNull(),
});

/** Each billing account's Stripe customer: created once (see `stripe/customers.ts`). */
export const billingCustomers = sqliteTable("billing_customers", {
  accountId: text("account_id").primaryKey(),
  customerId: text("customer_id").notNull().unique(),
  createdAt: integer("created_at").notNull(),
});

/**
 * Subscriptions as Stripe last described them (re-read on every event, so events in any order
 * converge), plus what dunning adds: when payment first failed, and when the grace ends.
 * `canceled` is final: no later write changes a canceled row.
 */
export const billingSubscriptions = sqliteTable(
  "billing_subscriptions",
  {
    id: text("id").primaryKey(),
    accountId: text("account_id").notNull(),
    customerId: text("customer_id").notNull(),
    status: text("status").notNull(),
    /** The plan its price sells, or null for a price this deployment does not sell. */
    planId: text("plan_id"),
    interval: text("interval", { enum: ["month", "year"] }),
    priceId: text("price_id").notNull(),
    currentPeriodStart: integer("current_period_start").notNull(),
    currentPeriodEnd: integer("current_period_end").notNull(),
    cancelAtPeriodEnd: integer("cancel_at_period_end", { mode: "boolean" }).notNull(),
    pastDueSince: integer("past_due_since"),
    graceEndsAt: integer("grace_ends_at"),
    /** When its owners were told it is past due (claimed before sending; cleared when paid). */
    dunningEmailedAt: integer("dunning_emailed_at"),
    /** When the cron ended it for not paying within the grace period. */
    downgradedAt: integer("downgraded_at"),
    createdAt: integer("created_at").notNull(),
    updatedAt: integer("updated_at").notNull(),
  },
  (table) => [
    index("billing_subscriptions_account").on(table.accountId, table.createdAt),
    index("billing_subscriptions_grace").on(table.status, table.graceEndsAt),
  ],
);

/**
 * A plan's included credits for one period (`plan:<account>:<period start>`), once. The next
 * grant, or the cron at `period_end`, expired what was left of it (before the wallets; kept for their migration): `expired` is that amount,
 * stored first so the ledger row can read it in the same batch.
 */
export const includedCreditGrants = sqliteTable(
  "included_credit_grants",
  {
    reference: text("reference").primaryKey(),
    accountId: text("account_id").notNull(),
    planId: text("plan_id").notNull(),
    periodStart: integer("period_start").notNull(),
    periodEnd: integer("period_end").notNull(),
    millicredits: integer("millicredits").notNull(),
    createdAt: integer("created_at").notNull(),
    expiredAt: integer("expired_at"),
    expired: integer("expired"),
  },
  (table) => [
    index("included_credit_grants_account").on(table.accountId, table.periodStart),
    index("included_credit_grants_open").on(table.expiredAt, table.periodEnd),
  ],
);

/** The cron's progress through verified users granting a calendar month's included credits. */
export const includedCreditSweeps = sqliteTable("included_credit_sweeps", {
  periodStart: integer("period_start").primaryKey(),
  /** The last user id handled; the next run continues after it. */
  cursor: text("cursor").notNull(),
});

/**
 * How far the D1 copy of each account's wallet has come: every row through `through` is here
 * (contiguous); the wallet's latest checkpoint (its balances after row `checkpoint_seq`), the
 * last one verified against the copy, and how often the copy found a gap or a mismatch.
 */
export const walletCopies = sqliteTable("wallet_copies", {
  accountId: text("account_id").primaryKey(),
  through: integer("through").notNull(),
  checkpointSeq: integer("checkpoint_seq").notNull(),
  checkpointIncluded: integer("checkpoint_included").notNull(),
  checkpointPurchased: integer("checkpoint_purchased").notNull(),
  verifiedSeq: integer("verified_seq").notNull(),
  gaps: integer("gaps").notNull(),
  mismatches: integer("mismatches").notNull(),
  updatedAt: integer("updated_at").notNull(),
  /** The account was deleted: the copy stays for reporting, its wallet is gone. */
  deletedAt: integer("deleted_at"),
});

/** Runs of rows received beyond `through` (Queues do not keep order), merged as the gaps fill. */
export const walletCopyRanges = sqliteTable(
  "wallet_copy_ranges",
  {
    accountId: text("account_id").notNull(),
    firstSeq: integer("first_seq").notNull(),
    lastSeq: integer("last_seq").notNull(),
    receivedAt: integer("received_at").notNull(),
  },
  (table) => [primaryKey({ columns: [table.accountId, table.firstSeq, table.lastSeq] })],
);

/** Each wallet counter's value as of its latest change (`seq`): later changes win, in any order. */
export const walletCounterCopies = sqliteTable(
  "wallet_counter_copies",
  {
    accountId: text("account_id").notNull(),
    metric: text("metric").notNull(),
    periodStart: integer("period_start").notNull(),
    used: integer("used").notNull(),
    limitValue: integer("limit_value").notNull(),
    seq: integer("seq").notNull(),
  },
  (table) => [primaryKey({ columns: [table.accountId, table.metric, table.periodStart] })],
);

/**
 * Accounts whose credits moved into their wallet (on its first touch; a deleted account's is
 * marked so it never opens again). Triggers (migration 0020) refuse any write of this account to the pre-wallet tables from then on, so a writer of
 * the previous version fails loudly instead of changing money nobody reads.
 */
export const walletMigrations = sqliteTable("wallet_migrations", {
  accountId: text("account_id").primaryKey(),
  migratedAt: integer("migrated_at").notNull(),
  /** The account was deleted: its wallet never opens again. */
  deletedAt: integer("deleted_at"),
});
