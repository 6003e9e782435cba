import type { Config } from "../../../env";
import { clock } from "../../../platform/clock";
import type { RequestContext, SpendKey } from "../../../platform/context";
import { AppError } from "../../../platform/errors";
import { KeptAnswer } from "../../../platform/idempotency/middleware";
import { markWorkStarted } from "../../../platform/io-count";
import type { Logger } from "../../../platform/logger";
import { enqueue } from "../../../platform/queue/tasks";
import { type QuotaMetric, quotaTermsOf } from "../../plans/api";
import { askWallet } from "../wallet/client";
import type { Budget, HoldAnswer, HoldInput, HoldView, Refusal, SettleAnswer, WalletRecord } from "../wallet/protocol";
import { includedPeriodOf } from "./included";
import { settleLaterTask } from "./settle-later";

/**
 * Spending credits, the one way every module does it: `withHold` holds the most a piece of work
 * can cost, runs it, and settles what it did cost (with retries), or releases the rest when it
 * failed. Credits live in the payer's `AccountWallet` (one call holds, one settles; no D1 write
 * on the way); only billing knows that, other modules spend through this.
 *
 * - Idempotent by `reference` (a request's server id, `job:<id>:<step>`): running again with a
 *   reference whose hold of the same amount is still open finds that hold, never takes a second
 *   one; a reference whose hold has ended, or that holds another amount, is 409 `conflict`.
 * - A failed run is charged what it consumed before failing: what its meter counted (calls
 *   within the hold add each upstream answer's cost to it), or what `failed` says. Failures are
 *   not a way to get upstream calls free; the rest of the hold is returned.
 * - A hold is always closed: when `measure` throws, the whole hold is charged (never nothing);
 *   when `failed` throws, what the meter counted is.
 * - Settling runs after the result is given back, in `waitUntil`: a result whose cost is known
 *   only later (a stream, settled at its end or when its client leaves) settles then. A failure
 *   is settled before it is answered, so a retry finds the credits back.
 * - The run itself runs under `waitUntil` too: a client that leaves mid-call still pays for the
 *   call it caused.
 */

/** Who pays: an account, within the monthly budget of the API key the request came with. */
export type Payer = { accountId: string; apiKeyId?: string; keyMonthlyBudget?: number };

/** A request's payer: its account, within the monthly budget of its API key. */
export const payerOf = ({ account, principal }: Pick<RequestContext, "account" | "principal">): Payer => ({
  accountId: account.id,
  ...(principal.keyId ? { apiKeyId: principal.keyId } : {}),
  ...(principal.keyMonthlyBudget ? { keyMonthlyBudget: principal.keyMonthlyBudget } : {}),
});

/** What spending needs of the request or job it runs for. */
export type SpendContext = {
  env: Env;
  /** The request's `Idempotency-Key`, claimed with the hold (a repeat is answered with the kept answer). */
  spendKey?: SpendKey;
  /** How long a request's hold may stay open (a job's hold lasts until its deadline instead). */
  config: Pick<Config, "CREDIT_HOLD_TTL_SECONDS">;
  logger: Logger;
  waitUntil(promise: Promise<unknown>): void;
  /** Reports how long holding took (`Server-Timing: hold`), when there is an answer to report it on. */
  timing?(metric: string, ms: number): void;
};

/** A hold on the payer's credits. */
export type Hold = HoldView;

/** What a piece of work cost, and what to record with its settlement. */
export type Settlement = {
  /** Unrounded millicredits. */
  cost: number;
  /**
   * Records of the work (a usage row) that the wallet ships with its settlement, charged what
   * it charged, to their module's sink in the D1 copy; charged 0 if settling never goes through.
   */
  records?: WalletRecord[];
};

/**
 * What the work inside one hold has consumed so far, in unrounded millicredits. Calls made
 * within the hold add what each upstream answer cost as it arrives (the AI gateway's `complete`,
 * a translation provider), so nothing is held twice, and a run that fails after an upstream
 * answered (an answer found invalid, a later step failing) is still charged what it consumed.
 */
export type Meter = { add(cost: number): void; readonly consumed: number };

/** A cost that is not a number makes the total NaN, which charges the whole hold (`chargeWithin`), never nothing. */
function newMeter(): Meter {
  let consumed = 0;
  return {
    add(cost) {
      if (Number.isNaN(cost) || !Number.isFinite(cost)) consumed = Number.NaN;
      else if (cost > 0) consumed += cost;
    },
    get consumed() {
      return consumed;
    },
  };
}

/** The charge of a cost: rounded up once, to a whole millicredit. */
export const chargeOf = (cost: number) => Math.ceil(cost - 1e-9);

/**
 * What a piece of work is charged: its cost rounded up, within `0 ≤ charge ≤ hold` (the wallet
 * keeps what the hold does not cover as its shortfall), nothing without a hold (free work). A
 * cost that is not a number is charged the whole hold, never nothing.
 */
export function chargeWithin(hold: Hold | null, cost: number): number {
  if (!hold) return 0;
  if (!Number.isFinite(cost)) return hold.amount;
  return Math.min(Math.max(0, chargeOf(cost)), hold.amount);
}

/** The API key's monthly spending cap as a wallet budget, if it has one. */
const keyBudgetOf = (payer: Payer): Budget | undefined =>
  payer.apiKeyId && payer.keyMonthlyBudget
    ? { key: `api_key:${payer.apiKeyId}`, limit: payer.keyMonthlyBudget, period: "month" }
    : undefined;

const isCreditRefusal = (refusal: Refusal) =>
  refusal.code === "insufficient_credits" || refusal.code === "budget_exceeded";

/** A wallet's refusal as the error a client gets: 402s that SDKs do not retry, 429 with its period's end. */
function refusalError(refusal: Refusal): AppError {
  if (isCreditRefusal(refusal)) {
    return new AppError(refusal.code, refusal.detail, { headers: { "x-should-retry": "false" } });
  }
  if (refusal.code === "idempotency_key_in_use") {
    return new AppError(refusal.code, refusal.detail, { headers: { "Retry-After": "1" } });
  }
  if (refusal.code === "quota_exceeded" && refusal.quota) {
    const { metric, used, limit, resetsAt } = refusal.quota;
    const retryAfter = resetsAt === null ? null : Math.max(1, Math.ceil((resetsAt - clock.now()) / 1000));
    return new AppError("quota_exceeded", refusal.detail, {
      headers: retryAfter === null ? {} : { "Retry-After": String(retryAfter) },
      extensions: { metric, limit, used, resetsAt: resetsAt === null ? null : clock.iso(resetsAt) },
    });
  }
  return new AppError(refusal.code, refusal.detail);
}

/** What a hold takes: credits, and the counter of the work it pays for, if it counts against a quota. */
type Take = { amount: number; count: HoldSpec<unknown>["count"] };

/** Asks the wallet for the hold (and the counter, the key's budget and a lazy included grant, in one call). */
async function takeHold(
  ctx: SpendContext,
  spec: Pick<HoldSpec<unknown>, "payer" | "reference" | "expiresAt">,
  take: Take,
): Promise<{ ok: true; hold: Hold | null } | Refusal> {
  const started = performance.now();
  const { accountId } = spec.payer;
  const budget = keyBudgetOf(spec.payer);
  const [included, counter] = await Promise.all([
    includedPeriodOf(ctx.env, accountId),
    take.count ? quotaTermsOf(ctx.env, accountId, take.count.metric) : undefined,
  ]);
  const claim = ctx.spendKey;
  const input: HoldInput = {
    accountId,
    reference: spec.reference,
    ...(claim ? { idempotency: { principalId: claim.principalId, key: claim.key, hash: claim.hash } } : {}),
    amount: take.amount,
    expiresAt: spec.expiresAt ?? clock.now() + ctx.config.CREDIT_HOLD_TTL_SECONDS * 1000,
    ...(budget ? { budget } : {}),
    ...(included ? { included } : {}),
    ...(take.count && counter ? { counter: { ...counter, metric: take.count.metric, amount: take.count.amount } } : {}),
  };
  let answer: HoldAnswer;
  try {
    answer = await askWallet<HoldAnswer>(ctx.env, accountId, (wallet) => wallet.hold(input));
  } finally {
    ctx.timing?.("hold", performance.now() - started);
  }
  if (answer.ok === "kept") throw new KeptAnswer(answer.answer);
  if (answer.ok && claim) {
    claim.settle = (kept) =>
      askWallet(ctx.env, accountId, (wallet) => wallet.keepAnswer(accountId, claim.principalId, claim.key, kept));
  }
  return answer;
}

/**
 * Holds `ceiling` in one wallet call; only when that is refused for credits does `fit` get a
 * smaller ceiling within what the refusal said the payer can spend (it throws 402 when not even
 * a minimal piece of work fits). A refusal caused by the key's budget says so.
 */
async function holdFitted(ctx: SpendContext, spec: HoldSpec<unknown>): Promise<Hold | null> {
  const amount = Math.max(0, chargeOf(spec.ceiling));
  if (amount === 0 && !spec.count) return null;
  const first = await takeHold(ctx, spec, { amount, count: spec.count });
  if (first.ok) return first.hold;
  if (!(spec.fit && isCreditRefusal(first))) throw refusalError(first);
  const credits = first.available ?? 0;
  const left = first.budgetLeft ?? Number.POSITIVE_INFINITY;
  let fitted: number;
  try {
    fitted = Math.max(0, chargeOf(spec.fit(Math.min(credits, left))));
  } catch (error) {
    if (left >= credits || !(error instanceof AppError && error.code === "insufficient_credits")) throw error;
    throw new AppError("budget_exceeded", "This API key's monthly credit budget does not cover this request.", {
      headers: { "x-should-retry": "false" },
    });
  }
  if (fitted === 0 && !spec.count) return null;
  const second = await takeHold(ctx, spec, { amount: fitted, count: spec.count });
  if (!second.ok) throw refusalError(second);
  return second.hold;
}

/**
 * Settles the hold for a settlement, shipping its records with the charge (or, without a hold,
 * alone); `askWallet` retries. When the wallet still cannot take it, the settlement becomes a
 * queue task retried until it does (`settle-later.ts`): the work is charged, late if need be.
 */
async function close(
  ctx: SpendContext,
  spec: HoldSpec<unknown>,
  held: Hold | null,
  settlement: Settlement,
  succeeded: boolean,
): Promise<number> {
  const { accountId } = spec.payer;
  const records = settlement.records ?? [];
  const charged = chargeWithin(held, settlement.cost);
  try {
    if (held) {
      const answer = await askWallet<SettleAnswer>(ctx.env, accountId, (wallet) =>
        wallet.settle({ accountId, reference: spec.reference, actual: charged, records, keepCount: succeeded }),
      );
      if (!answer.ok) throw new Error(answer.detail);
      return answer.charged;
    }
    if (spec.count && !succeeded)
      await askWallet(ctx.env, accountId, (wallet) => wallet.uncount(accountId, spec.reference));
    if (records.length > 0) await askWallet(ctx.env, accountId, (wallet) => wallet.record(accountId, records));
    return 0;
  } catch (error) {
    ctx.logger.error("settlement deferred to the queue", {
      reference: spec.reference,
      error: error instanceof Error ? error.message : String(error),
    });
    const later = {
      accountId,
      reference: spec.reference,
      actual: held ? charged : null,
      records,
      keepCount: succeeded,
      counted: Boolean(spec.count),
    };
    await enqueue(ctx.env, settleLaterTask, later, {
      reference: `billing.settle-later:${accountId}:${spec.reference}`,
    });
    return held ? charged : 0;
  }
}

/** A cost that is not a number is charged the whole hold (`chargeWithin`). */
const WHOLE_HOLD: Settlement = { cost: Number.NaN };

/**
 * A caller's settlement, or `fallback` when computing it throws or rejects (logged): the hold is
 * closed either way, never left to expire.
 */
function settlementOf(
  ctx: SpendContext,
  compute: () => Settlement | Promise<Settlement>,
  fallback: Settlement,
): Settlement | Promise<Settlement> {
  const fell = (error: unknown) => {
    ctx.logger.error("a settlement could not be computed; settling by the rule", {
      charged: fallback === WHOLE_HOLD ? "the whole hold" : `what the meter counted (${fallback.cost})`,
      error: error instanceof Error ? error.message : String(error),
    });
    return fallback;
  };
  try {
    const settlement = compute();
    return settlement instanceof Promise ? settlement.catch(fell) : settlement;
  } catch (error) {
    return fell(error);
  }
}

export type HoldSpec<T> = {
  payer: Payer;
  /** The hold's unique key: a request's server id, `job:<id>:<step>`. */
  reference: string;
  /** The most the work can cost, in unrounded millicredits (nothing is held when it is free). */
  ceiling: number;
  /** A smaller ceiling within what the payer can spend, when the full one is refused. */
  fit?: (spendable: number) => number;
  /** When the hold lapses if never settled (a job's deadline); the request hold TTL otherwise. */
  expiresAt?: number;
  /**
   * What the work counts against a quota of the payer's plan (translated characters), taken in
   * the same wallet call as the hold (429 `quota_exceeded` past it) and given back if it fails.
   */
  count?: { metric: QuotaMetric; amount: number };
  /** The work, given its hold (null when free) and the meter calls within it add to. */
  run: (held: Hold | null, meter: Meter) => Promise<T>;
  /** What the result cost; a promise (a stream's end) settles when it resolves. */
  measure: (result: T, meter: Meter) => Settlement | Promise<Settlement>;
  /**
   * What a run that failed had consumed, and what to record of it; by default what the meter
   * counted (nothing, when no call within the run used it).
   */
  failed?: (error: unknown, meter: Meter) => Settlement | Promise<Settlement>;
};

/**
 * Holds, runs, settles (see the file's header). Answers the result and its charge, or null for
 * a charge known only once `measure`'s promise resolves.
 */
export async function withHold<T>(
  ctx: SpendContext,
  spec: HoldSpec<T>,
): Promise<{ result: T; charged: number | null }> {
  const held = await holdFitted(ctx, spec as HoldSpec<unknown>);
  const settle = (settlement: Settlement | Promise<Settlement>, succeeded: boolean) =>
    Promise.resolve(settlement)
      .then((settled) => close(ctx, spec as HoldSpec<unknown>, held, settled, succeeded))
      .catch((error: unknown) =>
        ctx.logger.error("settlement not recorded", { error: error instanceof Error ? error.message : String(error) }),
      );
  const meter = newMeter();
  markWorkStarted(ctx.env);
  const work = (async () => {
    let result: T;
    try {
      result = await spec.run(held, meter);
    } catch (error) {
      // A failure is settled before it is answered: a retry finds the credits back.
      const failed = spec.failed ?? (() => ({ cost: meter.consumed }));
      await settle(
        settlementOf(ctx, () => failed(error, meter), { cost: meter.consumed }),
        false,
      );
      throw error;
    }
    const measured = settlementOf(ctx, () => spec.measure(result, meter), WHOLE_HOLD);
    ctx.waitUntil(settle(measured, true));
    return { result, charged: measured instanceof Promise ? null : chargeWithin(held, measured.cost) };
  })();
  ctx.waitUntil(work.catch(() => {}));
  return work;
}
