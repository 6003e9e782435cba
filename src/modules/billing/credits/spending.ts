import type { Config } from "../../../env";
import { clock } from "../../../platform/clock";
import type { RequestContext } from "../../../platform/context";
import type { BatchStatement } from "../../../platform/db";
import { AppError } from "../../../platform/errors";
import type { Logger } from "../../../platform/logger";
import { type Budget, budgetLeft, creditsOf, type Hold, release, reserve, settle } from "./ledger";

/**
 * Spending credits, the one way every module does it: `withHold` holds the most a piece of work
 * can cost, runs it, and settles what it did cost (with retries), or releases the rest when it
 * failed. Only billing touches the ledger; other modules spend through this.
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
  /** How long a request's hold may stay open (a job's hold lasts until its deadline instead). */
  config: Pick<Config, "CREDIT_HOLD_TTL_SECONDS">;
  logger: Logger;
  waitUntil(promise: Promise<unknown>): void;
  /** Reports how long holding took (`Server-Timing: hold`), when there is an answer to report it on. */
  timing?(metric: string, ms: number): void;
};

/** What a piece of work cost, and what to record with its settlement. */
export type Settlement = {
  /** Unrounded millicredits. */
  cost: number;
  /**
   * Statements committed in the settlement's batch (a usage row), given the charge; if settling
   * never goes through, they are written alone with a charge of 0.
   */
  record?: (charged: number) => BatchStatement[];
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
 * What a piece of work is charged: its cost rounded up, within `0 ≤ charge ≤ hold` (the ledger
 * keeps what the hold does not cover as its shortfall), nothing without a hold (free work). A
 * cost that is not a number is charged the whole hold, never nothing.
 */
export function chargeWithin(hold: Hold | null, cost: number): number {
  if (!hold) return 0;
  if (!Number.isFinite(cost)) return hold.amount;
  return Math.min(Math.max(0, chargeOf(cost)), hold.amount);
}

/** The API key's monthly spending cap as a ledger budget, if it has one. */
const keyBudgetOf = (payer: Payer): Budget | undefined =>
  payer.apiKeyId && payer.keyMonthlyBudget
    ? { key: `api_key:${payer.apiKeyId}`, limit: payer.keyMonthlyBudget, period: "month" }
    : undefined;

const isRefusal = (error: unknown): error is AppError =>
  error instanceof AppError && (error.code === "insufficient_credits" || error.code === "budget_exceeded");

/** Holds `amount`; 402 (`insufficient_credits`, `budget_exceeded`) that SDKs do not retry. */
async function hold(
  ctx: SpendContext,
  payer: Payer,
  amount: number,
  reference: string,
  expiresAt: number | undefined,
): Promise<Hold> {
  const started = performance.now();
  const budget = keyBudgetOf(payer);
  try {
    return await reserve(ctx.env, payer.accountId, amount, reference, {
      ...(budget ? { budget } : {}),
      expiresAt: expiresAt ?? clock.now() + ctx.config.CREDIT_HOLD_TTL_SECONDS * 1000,
    });
  } catch (error) {
    if (isRefusal(error)) throw new AppError(error.code, error.detail, { headers: { "x-should-retry": "false" } });
    throw error;
  } finally {
    ctx.timing?.("hold", performance.now() - started);
  }
}

/** What the payer may spend now: the account's available credits, within what the key's budget has left. */
async function spendable(env: Env, payer: Payer): Promise<{ credits: number; budgetLeft: number }> {
  const budget = keyBudgetOf(payer);
  const [credits, left] = await Promise.all([
    creditsOf(env, payer.accountId),
    budget ? budgetLeft(env, payer.accountId, budget) : Number.POSITIVE_INFINITY,
  ]);
  return { credits: credits.available, budgetLeft: left };
}

/**
 * Holds `ceiling`, optimistically in one batch; only when that is refused are the balance and
 * the key's budget read, and `fit` asked for a smaller ceiling within them (it throws 402 when
 * not even a minimal piece of work fits). A refusal caused by the key's budget says so.
 */
async function holdFitted(
  ctx: SpendContext,
  spec: Pick<HoldSpec<unknown>, "payer" | "reference" | "ceiling" | "fit" | "expiresAt">,
): Promise<Hold | null> {
  const amount = chargeOf(spec.ceiling);
  if (amount <= 0) return null;
  try {
    return await hold(ctx, spec.payer, amount, spec.reference, spec.expiresAt);
  } catch (error) {
    if (!(spec.fit && isRefusal(error))) throw error;
  }
  const { credits, budgetLeft: left } = await spendable(ctx.env, spec.payer);
  let fitted: number;
  try {
    fitted = chargeOf(spec.fit(Math.min(credits, left)));
  } catch (error) {
    if (left >= credits || !isRefusal(error)) throw error;
    throw new AppError("budget_exceeded", "This API key's monthly credit budget does not cover this request.", {
      headers: { "x-should-retry": "false" },
    });
  }
  return fitted > 0 ? hold(ctx, spec.payer, fitted, spec.reference, spec.expiresAt) : null;
}

const SETTLE_ATTEMPTS = 3;

/**
 * Charges `charged` of the hold (releasing it all when nothing is charged), with `alongside`
 * statements in the same batch, retrying a transient failure. A conflict on a retry means an
 * earlier attempt went through after all (its answer was lost), and `alongside` with it. False
 * when it never went through: the cron releases the hold then.
 */
async function settleHold(
  ctx: SpendContext,
  held: Hold,
  charged: number,
  alongside: BatchStatement[],
): Promise<boolean> {
  for (let attempt = 1; ; attempt++) {
    try {
      if (charged > 0) await settle(ctx.env, held, charged, alongside);
      else await release(ctx.env, held, alongside);
      return true;
    } catch (error) {
      if (error instanceof AppError && error.code === "conflict") return attempt > 1;
      if (attempt === SETTLE_ATTEMPTS) {
        ctx.logger.error("settlement failed; the cron releases the hold", {
          holdId: held.id,
          error: error instanceof Error ? error.message : String(error),
        });
        return false;
      }
      await new Promise((resolve) => setTimeout(resolve, 100 * attempt));
    }
  }
}

/** Settles the hold for a settlement (or releases it), writing its record either way. */
async function close(ctx: SpendContext, held: Hold | null, settlement: Settlement): Promise<number> {
  const charged = chargeWithin(held, settlement.cost);
  if (held && (await settleHold(ctx, held, charged, settlement.record?.(charged) ?? []))) return charged;
  const alone = settlement.record?.(0) ?? [];
  if (alone.length > 0) await ctx.env.DB.batch(alone);
  return 0;
}

/** A cost that is not a number is charged the whole hold (`chargeWithin`). */
const WHOLE_HOLD: Settlement = { cost: Number.NaN };

/**
 * A caller's settlement, or `fallback` when computing it throws or rejects (logged): the hold is
 * closed either way, never left to the cron.
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
  /** The work, given its hold (null when free) and the meter calls within it add to. */
  run: (held: Hold | null, meter: Meter) => Promise<T>;
  /** What the result cost; a promise (a stream's end) settles when it resolves. */
  measure: (result: T, meter: Meter) => Settlement | Promise<Settlement>;
  /**
   * What a run that failed had consumed, and what to record of it; by default what the meter
   * counted (nothing, when no call within the run used it). It may first undo what the caller
   * took for the run (a quota), in `waitUntil` like the rest.
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
  const held = await holdFitted(ctx, spec);
  const settle = (settlement: Settlement | Promise<Settlement>) =>
    Promise.resolve(settlement)
      .then((settled) => close(ctx, held, settled))
      .catch((error: unknown) =>
        ctx.logger.error("settlement not recorded", { error: error instanceof Error ? error.message : String(error) }),
      );
  const meter = newMeter();
  const work = (async () => {
    let result: T;
    try {
      result = await spec.run(held, meter);
    } catch (error) {
      // A failure is settled before it is answered: a retry finds the credits back.
      const failed = spec.failed ?? (() => ({ cost: meter.consumed }));
      await settle(settlementOf(ctx, () => failed(error, meter), { cost: meter.consumed }));
      throw error;
    }
    const measured = settlementOf(ctx, () => spec.measure(result, meter), WHOLE_HOLD);
    ctx.waitUntil(settle(measured));
    return { result, charged: measured instanceof Promise ? null : chargeWithin(held, measured.cost) };
  })();
  ctx.waitUntil(work.catch(() => {}));
  return work;
}
