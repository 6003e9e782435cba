import { clock } from "../../platform/clock";
import { AppError } from "../../platform/errors";
import type { Logger } from "../../platform/logger";
import { type Hold, release, reserve, settle } from "../billing/ledger";
import { chargeOf } from "./pricing";
import type { Model } from "./registry";
import { recordUsage, type UsageRow } from "./usage";

/**
 * Credits around an AI call, for every endpoint: hold before (with the API key's monthly
 * budget, in the same batch), then settle what was used and write the usage row after the
 * answer, in `waitUntil`. A hold the isolate never settles is released by the cron (and
 * charged late if its settle runs after all).
 */

export type AiCaller = {
  env: Env;
  accountId: string;
  userId: string;
  apiKeyId?: string;
  /** The API key's monthly spending cap, in millicredits. */
  keyMonthlyBudget?: number;
  requestId: string;
  logger: Logger;
  waitUntil(promise: Promise<unknown>): void;
};

/** Holds `amount` for this request; 402 (`insufficient_credits`, `budget_exceeded`) SDKs do not retry. */
export async function holdCredits(caller: AiCaller, amount: number): Promise<Hold> {
  try {
    return await reserve(caller.env, caller.accountId, amount, `ai:${caller.requestId}`, {
      ...(caller.apiKeyId && caller.keyMonthlyBudget
        ? { budget: { key: `api_key:${caller.apiKeyId}`, limit: caller.keyMonthlyBudget, period: "month" } }
        : {}),
    });
  } catch (error) {
    if (error instanceof AppError && (error.code === "insufficient_credits" || error.code === "budget_exceeded")) {
      throw new AppError(error.code, error.detail, { headers: { "x-should-retry": "false" } });
    }
    throw error;
  }
}

type Measured = Omit<UsageRow, "id" | "accountId" | "userId" | "apiKeyId" | "createdAt">;

/** Settles the hold for `usage.charged` (releasing it all if nothing) and records the usage, after the answer. */
export function settleInBackground(caller: AiCaller, hold: Hold | null, usage: Measured): void {
  caller.waitUntil(
    (async () => {
      if (hold && usage.charged > 0) await settle(caller.env, hold, usage.charged);
      else if (hold) await release(caller.env, hold);
      await recordUsage(caller.env, {
        ...usage,
        id: caller.requestId,
        accountId: caller.accountId,
        userId: caller.userId,
        apiKeyId: caller.apiKeyId ?? null,
        createdAt: clock.now(),
      });
    })().catch((error: unknown) =>
      caller.logger.error("ai settlement failed; the cron releases the hold", {
        error: error instanceof Error ? error.message : String(error),
      }),
    ),
  );
}

/**
 * Runs a call whose cost follows from its result (embeddings, audio), then settles the hold
 * for it, or releases it all when the call failed, and records the usage either way.
 */
export async function metered<T extends { model: Model }>(
  caller: AiCaller,
  hold: Hold | null,
  request: { endpoint: string; requestedModel: string },
  call: () => Promise<T>,
  measure: (result: T) => { cost: number; inputTokens?: number },
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
    });
    throw error;
  }
  const { cost, inputTokens = 0 } = measure(result);
  const charged = chargeOf(cost);
  settleInBackground(caller, hold, {
    ...base,
    model: result.model.id,
    provider: result.model.provider,
    inputTokens,
    cost,
    charged,
    latencyMs: Date.now() - started,
    status: "completed",
  });
  return { ...result, charged };
}
