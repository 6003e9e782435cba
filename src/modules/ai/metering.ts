import type { Context } from "hono";
import { configOf } from "../../env";
import { clock } from "../../platform/clock";
import type { AppEnv } from "../../platform/context";
import { AppError } from "../../platform/errors";
import { newId } from "../../platform/ids";
import type { Logger } from "../../platform/logger";
import { type Budget, budgetLeft, creditsOf, type Hold, release, reserve, settle } from "../billing/api";
import { accountOf, principalOf } from "../identity/api";
import { circuitSettingsOf } from "./circuit";
import { withFallbacks, within } from "./fallbacks";
import { chargeOf } from "./pricing";
import type { Model } from "./registry";
import { recordUsage, type UsageRow, usageStatement } from "./usage";

/**
 * Credits around an AI call, for every endpoint: hold before (with the API key's monthly
 * budget, in the same batch), then settle what was used and write the usage row after the
 * answer, in `waitUntil`. A settle that keeps failing leaves the hold to the cron, which
 * releases it: that answer goes unpaid, and the usage row says so (logged as an error).
 */

export type AiCaller = {
  env: Env;
  accountId: string;
  userId: string;
  apiKeyId?: string;
  /** The API key's monthly spending cap, in millicredits. */
  keyMonthlyBudget?: number;
  /** The request's id (`x-request-id`), which a client may choose. */
  requestId: string;
  /** The server's unique id of this call: it keys the credit hold and the usage row. */
  callId: string;
  logger: Logger;
  waitUntil(promise: Promise<unknown>): void;
  /** Reports a step's time as a `Server-Timing` metric of the answer (`hold`, `upstream`). */
  timing(metric: string, ms: number): void;
};

/** Who pays for an AI request, and how its settlement runs after the answer. */
export function callerOf(c: Context<AppEnv>): AiCaller {
  const principal = principalOf(c);
  return {
    env: c.env,
    accountId: accountOf(c).id,
    userId: principal.id,
    ...(principal.keyId ? { apiKeyId: principal.keyId } : {}),
    ...(principal.keyMonthlyBudget ? { keyMonthlyBudget: principal.keyMonthlyBudget } : {}),
    requestId: c.get("requestId"),
    callId: newId("use"),
    logger: c.get("logger"),
    waitUntil: (promise) => c.executionCtx.waitUntil(promise),
    timing: (metric, ms) => c.header("Server-Timing", `${metric};dur=${ms.toFixed(1)}`, { append: true }),
  };
}

/** The API key's monthly spending cap as a ledger budget, if it has one. */
const keyBudgetOf = (caller: AiCaller): Budget | undefined =>
  caller.apiKeyId && caller.keyMonthlyBudget
    ? { key: `api_key:${caller.apiKeyId}`, limit: caller.keyMonthlyBudget, period: "month" }
    : undefined;

/** Holds `amount` for this request; 402 (`insufficient_credits`, `budget_exceeded`) SDKs do not retry. */
export async function holdCredits(caller: AiCaller, amount: number): Promise<Hold> {
  const started = performance.now();
  const budget = keyBudgetOf(caller);
  try {
    return await reserve(caller.env, caller.accountId, amount, `ai:${caller.callId}`, budget ? { budget } : {});
  } catch (error) {
    if (error instanceof AppError && (error.code === "insufficient_credits" || error.code === "budget_exceeded")) {
      throw new AppError(error.code, error.detail, { headers: { "x-should-retry": "false" } });
    }
    throw error;
  } finally {
    caller.timing("hold", performance.now() - started);
  }
}

/** What the caller may spend now: the account's available credits, and what the key's budget has left. */
export async function spendableBy(caller: AiCaller): Promise<{ credits: number; budgetLeft: number }> {
  const budget = keyBudgetOf(caller);
  const [credits, left] = await Promise.all([
    creditsOf(caller.env, caller.accountId),
    budget ? budgetLeft(caller.env, caller.accountId, budget) : Number.POSITIVE_INFINITY,
  ]);
  return { credits: credits.available, budgetLeft: left };
}

type Measured = Omit<UsageRow, "id" | "requestId" | "accountId" | "userId" | "apiKeyId" | "createdAt">;

const SETTLE_ATTEMPTS = 3;

/**
 * What a call is charged: its cost rounded up, within `0 ≤ charge ≤ hold` (the ledger keeps
 * what the hold does not cover as its shortfall), nothing without a hold (free models). Costs
 * come from validated counts; one that is still not a number is charged the whole hold, never
 * nothing.
 */
export function chargeWithin(hold: Hold | null, cost: number): number {
  if (!hold) return 0;
  if (!Number.isFinite(cost)) return hold.amount;
  return Math.min(Math.max(0, chargeOf(cost)), hold.amount);
}

/**
 * Charges `charged` of the hold (releasing it all when nothing is charged), with `alongside`
 * statements (a usage row, counters) in the same batch, retrying a transient failure. A
 * conflict on a retry means an earlier attempt went through after all (its answer was lost),
 * and `alongside` with it. False when it never went through: the cron releases the hold then.
 */
export async function settleHold(
  caller: Pick<AiCaller, "env" | "logger">,
  hold: Hold,
  charged: number,
  alongside: D1PreparedStatement[] = [],
): Promise<boolean> {
  for (let attempt = 1; ; attempt++) {
    try {
      if (charged > 0) await settle(caller.env, hold, charged, alongside);
      else await release(caller.env, hold, alongside);
      return true;
    } catch (error) {
      if (error instanceof AppError && error.code === "conflict") return attempt > 1;
      if (attempt === SETTLE_ATTEMPTS) {
        caller.logger.error("settlement failed; the cron releases the hold", {
          holdId: hold.id,
          error: error instanceof Error ? error.message : String(error),
        });
        return false;
      }
      await new Promise((resolve) => setTimeout(resolve, 100 * attempt));
    }
  }
}

/**
 * Settles the hold for `usage.charged` (releasing it all if nothing) and records the usage in
 * the same batch, after the answer. The charge never passes the hold (the ledger records the
 * rest as the hold's shortfall); if settling never goes through, the row alone is written and
 * shows 0 charged.
 */
export function settleInBackground(caller: AiCaller, hold: Hold | null, usage: Measured): void {
  const row: UsageRow = {
    ...usage,
    id: caller.callId,
    requestId: caller.requestId,
    accountId: caller.accountId,
    userId: caller.userId,
    apiKeyId: caller.apiKeyId ?? null,
    createdAt: clock.now(),
  };
  caller.waitUntil(
    (async () => {
      if (hold && (await settleHold(caller, hold, row.charged, [usageStatement(caller.env, row)]))) return;
      await recordUsage(caller.env, hold ? { ...row, charged: 0 } : row);
    })().catch((error: unknown) =>
      caller.logger.error("ai usage row not written", {
        error: error instanceof Error ? error.message : String(error),
      }),
    ),
  );
}

/**
 * Runs a call whose cost follows from its result, then settles the hold for it, or releases
 * it all when the call failed, and records the usage either way.
 */
async function metered<T extends { model: Model }>(
  caller: AiCaller,
  hold: Hold | null,
  request: { endpoint: string; requestedModel: string },
  call: () => Promise<T>,
  measure: (result: T) => { cost: number; inputTokens?: number; estimated?: boolean },
): Promise<T & { charged: number }> {
  const started = Date.now();
  const base = { ...request, outputTokens: 0, timeToFirstTokenMs: null };
  let result: T;
  try {
    result = await call();
  } catch (error) {
    settleInBackground(caller, hold, {
      ...base,
      model: null,
      provider: null,
      inputTokens: 0,
      cost: 0,
      charged: 0,
      latencyMs: Date.now() - started,
      status: "failed",
      usageSource: null,
    });
    throw error;
  }
  const { cost, inputTokens = 0, estimated = false } = measure(result);
  const charged = chargeWithin(hold, cost);
  settleInBackground(caller, hold, {
    ...base,
    model: result.model.id,
    provider: result.model.provider,
    inputTokens,
    cost,
    charged,
    latencyMs: Date.now() - started,
    status: "completed",
    usageSource: estimated ? "estimated" : "provider",
  });
  return { ...result, charged };
}

/**
 * One priced AI call, for endpoints whose cost follows from the result (embeddings, audio,
 * images): hold the most it can cost on any of its deployments (nothing when free), try them
 * with retries and fallbacks (each attempt at most `timeoutMs` until it answers), then charge
 * what the answer cost.
 */
export async function pricedCall<R>(
  caller: AiCaller,
  call: {
    endpoint: string;
    requestedModel: string;
    /** The top-level fields of the client's request (an upstream refusal may name one back). */
    sentFields: readonly string[];
    deployments: readonly Model[];
    /** The most the call can cost on a deployment, in unrounded millicredits. */
    ceiling: (model: Model) => number;
    timeoutMs: number;
    run: (model: Model, signal: AbortSignal) => Promise<R>;
    /** What the result cost; `estimated` when the provider's counts were missing or not believed. */
    measure: (model: Model, result: R) => { cost: number; inputTokens?: number; estimated?: boolean };
  },
  clientSignal: AbortSignal,
): Promise<{ model: Model; result: R; charged: number }> {
  const held = chargeOf(Math.max(...call.deployments.map(call.ceiling)));
  const hold = held > 0 ? await holdCredits(caller, held) : null;
  const context = {
    logger: caller.logger,
    circuit: circuitSettingsOf(configOf(caller.env)),
    accountId: caller.accountId,
    sentFields: call.sentFields,
  };
  return metered(
    caller,
    hold,
    { endpoint: call.endpoint, requestedModel: call.requestedModel },
    () =>
      withFallbacks(call.deployments, clientSignal, context, async (attempt) => ({
        model: attempt.model,
        result: await within(call.timeoutMs, attempt, (signal) => call.run(attempt.model, signal)),
      })),
    ({ model, result }) => call.measure(model, result),
  );
}
