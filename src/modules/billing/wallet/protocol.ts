import { z } from "@hono/zod-openapi";
import type { StoredAnswer } from "../../../platform/context";

/**
 * The `AccountWallet` object's protocol: what its RPC methods take and answer, and the batches
 * it ships to the copy queue. Domain refusals come back as values (`{ ok: false }`), never as
 * thrown errors: an RPC error keeps only its name and message.
 */

export const CREDIT_BUCKETS = ["included", "purchased"] as const;
export type CreditBucket = (typeof CREDIT_BUCKETS)[number];

/** A spending cap for one key (say an API key) per calendar day or month, UTC. */
export type Budget = { key: string; limit: number; period: "day" | "month" };

/** Exact per-account counters the wallet keeps (the plans' quotas: `translated_characters`…). */
export type CounterMetric = string;

/** What one piece of work adds to a counter, within the limit of its period. */
export type CounterTake = {
  metric: CounterMetric;
  amount: number;
  limit: number;
  periodStart: number;
  /** When the period ends (what a refusal's `Retry-After` counts to); null for levels. */
  resetsAt: number | null;
};

/** A plan's included credits for one period, granted once as `plan:<account>:<period start>`. */
export type IncludedPeriod = { planId: string; amount: number; periodStart: number; periodEnd: number };

/**
 * A record another module keeps of a piece of work (an AI usage row), shipped with the wallet's
 * batches to that module's sink, charged what the settlement charged. `id` makes it idempotent.
 */
export type WalletRecord = { sink: string; id: string; body: Record<string, unknown> };

/** A request's `Idempotency-Key`, claimed in the same step as its hold. */
export type KeyClaim = { principalId: string; key: string; hash: string };

export type HoldInput = {
  accountId: string;
  reference: string;
  /** Claimed first: a repeat of a request already answered gets that answer instead of a hold. */
  idempotency?: KeyClaim;
  /** Whole millicredits; 0 only with a counter (free work that still counts, a cached translation). */
  amount: number;
  expiresAt: number;
  budget?: Budget;
  counter?: CounterTake;
  /** Granted first if this period's credits were never granted (accounts without a subscription). */
  included?: IncludedPeriod;
};

export type HoldView = {
  id: string;
  reference: string;
  amount: number;
  fromIncluded: number;
  fromPurchased: number;
  createdAt: number;
  expiresAt: number;
};

export type RefusalCode =
  | "insufficient_credits"
  | "budget_exceeded"
  | "quota_exceeded"
  | "conflict"
  | "not_found"
  | "idempotency_key_reused"
  | "idempotency_key_in_use";

export type Refusal = {
  ok: false;
  code: RefusalCode;
  detail: string;
  /** What the account could spend when refused, and what the key's budget had left. */
  available?: number;
  budgetLeft?: number;
  quota?: { metric: CounterMetric; used: number; limit: number; resetsAt: number | null };
};

/** A hold (null when only a counter was taken), the answer kept for a repeated request, or why not. */
export type HoldAnswer = { ok: true; hold: HoldView | null } | { ok: "kept"; answer: StoredAnswer } | Refusal;

export type SettleInput = {
  accountId: string;
  reference: string;
  /** What the work cost, whole millicredits (0 releases the hold). */
  actual: number;
  records: WalletRecord[];
  /** False when the work failed: what it took of a counter is given back. */
  keepCount: boolean;
};

export type SettleAnswer =
  | {
      ok: true;
      charged: number;
      shortfall: number;
      /** Settled after the hold had expired: charged late from what the account had then. */
      late: boolean;
    }
  | Refusal;

export type GrantInput = {
  accountId: string;
  reference: string;
  bucket: CreditBucket;
  /** Signed millicredits; a removal never takes a bucket below what its holds keep. */
  amount: number;
  reason: string;
};

export type LedgerEntry = {
  seq: number;
  id: string;
  bucket: CreditBucket;
  amount: number;
  reason: string;
  reference: string;
  balanceAfter: number;
  createdAt: number;
};

export type GrantAnswer = { ok: true; applied: boolean; entry: LedgerEntry | null } | Refusal;

export type Balances = {
  balances: Record<CreditBucket, number>;
  held: number;
  available: number;
  holds: HoldView[];
};

/** One row of the wallet's outbox, in sequence. */
export const ShippedRow = z.discriminatedUnion("kind", [
  z.object({
    seq: z.number().int().positive(),
    kind: z.literal("ledger"),
    body: z.object({
      id: z.string(),
      bucket: z.enum(CREDIT_BUCKETS),
      amount: z.number().int(),
      reason: z.string(),
      reference: z.string(),
      balanceAfter: z.number().int(),
      createdAt: z.number().int(),
    }),
  }),
  z.object({
    seq: z.number().int().positive(),
    kind: z.literal("counter"),
    body: z.object({
      metric: z.string(),
      periodStart: z.number().int(),
      used: z.number().int(),
      limit: z.number().int(),
    }),
  }),
  z.object({
    seq: z.number().int().positive(),
    kind: z.literal("record"),
    body: z.object({
      sink: z.string(),
      id: z.string(),
      charged: z.number().int(),
      body: z.record(z.string(), z.unknown()),
      createdAt: z.number().int(),
    }),
  }),
]);
export type ShippedRow = z.infer<typeof ShippedRow>;

/** A message of the copy queue: a contiguous run of one wallet's rows, and its checkpoint (the balances after the run's last row). */
export const CopyMessage = z.object({
  type: z.literal("rows"),
  accountId: z.string(),
  rows: z.array(ShippedRow).min(1),
  checkpoint: z.object({
    seq: z.number().int().positive(),
    balances: z.object({ included: z.number().int(), purchased: z.number().int() }),
  }),
});
export type CopyMessage = z.infer<typeof CopyMessage>;
