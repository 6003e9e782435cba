import { createExecutionContext, env, runInDurableObject, waitOnExecutionContext } from "cloudflare:test";
import { usageRecord } from "../../src/modules/ai/usage";
import { withHold } from "../../src/modules/billing/api";
import { applyCopyMessages } from "../../src/modules/billing/wallet/copy";
import { nextMessage } from "../../src/modules/billing/wallet/outbox";
import type { Balances } from "../../src/modules/billing/wallet/protocol";
import type { QuotaMetric } from "../../src/modules/plans/api";
import { periodOf } from "../../src/modules/plans/quotas";
import { clock } from "../../src/platform/clock";
import { runtimeOf } from "./runtime";

/** An account's wallet, as the Worker reaches it. */
export const walletStub = (accountId: string) => env.ACCOUNT_WALLET.get(env.ACCOUNT_WALLET.idFromName(accountId));

/** The wallet's balances (exact, as `GET /v1/credits` reads them). */
export const walletBalances = async (accountId: string): Promise<Balances> =>
  await walletStub(accountId).balance(accountId);

/**
 * Applies everything the wallet's outbox holds to the D1 copy now, as the copy consumer does
 * (without waiting for the alarm and the queue), until the copy has confirmed it all.
 */
export async function drainWallet(accountId: string): Promise<void> {
  let applied: number | null = null;
  for (let round = 0; round < 100; round++) {
    const message = await runInDurableObject(walletStub(accountId), (_instance, state) => {
      const exists = state.storage.sql
        .exec("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'outbox'")
        .toArray().length;
      if (!exists) return null;
      // Everything still waiting for its confirmation, sent or not.
      state.storage.sql.exec("UPDATE outbox SET sent_at = NULL");
      return nextMessage(state.storage.sql, accountId);
    });
    // A deleted account's wallet is not told (its closing task empties it): the copy has the rows.
    if (!message || message.checkpoint.seq === applied) return;
    await applyCopyMessages(runtimeOf(), [message]);
    applied = message.checkpoint.seq;
  }
  throw new Error(`the wallet of ${accountId} did not drain`);
}

/**
 * Rows of a query on the wallet's own SQLite (its `holds`, open and recently closed, `ledger`,
 * `grants`, `clawbacks`…), or none when the wallet has no schema yet.
 */
export function walletRows<T extends Record<string, SqlStorageValue>>(
  accountId: string,
  query: string,
  ...bindings: unknown[]
): Promise<T[]> {
  return runInDurableObject(walletStub(accountId), (_instance, state) => {
    const ready = state.storage.sql
      .exec("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'ledger'")
      .toArray().length;
    return ready ? state.storage.sql.exec<T>(query, ...bindings).toArray() : [];
  });
}

/**
 * Spends `amount` millicredits of the account's credits the way modules do (`withHold`: a hold,
 * then its settlement, which may grant the period's included credits first), settled before
 * it answers what was charged.
 */
export async function spendCredits(accountId: string, amount: number, reference = `test:${crypto.randomUUID()}`) {
  const ctx = createExecutionContext();
  const { charged } = await withHold(
    { ...runtimeOf(), waitUntil: (promise) => ctx.waitUntil(promise) },
    { payer: { accountId }, reference, ceiling: amount, run: async () => null, measure: () => ({ cost: amount }) },
  );
  await waitOnExecutionContext(ctx);
  return charged;
}

/**
 * Counts `amount` of a quota metric for the account the way modules do (`withHold`'s `count`,
 * taken in the hold's wallet call, here with nothing to hold), within its plan's terms now.
 */
export async function countUsage(
  accountId: string,
  amount: number,
  metric: QuotaMetric = "translated_characters",
  reference = `test:${crypto.randomUUID()}`,
) {
  const ctx = createExecutionContext();
  try {
    return await withHold(
      { ...runtimeOf(), waitUntil: (promise) => ctx.waitUntil(promise) },
      {
        payer: { accountId },
        reference,
        ceiling: 0,
        count: { metric, amount },
        run: async () => amount,
        measure: () => ({ cost: 0 }),
      },
    );
  } finally {
    await waitOnExecutionContext(ctx);
  }
}

/** What the account's wallet counted of a quota metric in its current period (or the period starting at `periodStart`). */
export async function counterOf(
  accountId: string,
  metric: QuotaMetric = "translated_characters",
  periodStart = periodOf(metric).start,
): Promise<number> {
  const status = await walletStub(accountId).status(accountId, { counters: [{ metric, periodStart }] });
  return status.counters[0]?.used ?? 0;
}

/** A usage row of ai (the `ai.usage` sink), as the record a settlement ships with its charge. */
export function usageRecordOf(accountId: string, cost = 0) {
  const id = `req_${crypto.randomUUID()}`;
  return usageRecord({
    id,
    requestId: id,
    accountId,
    userId: accountId,
    endpoint: "/v1/chat/completions",
    requestedModel: "gpt-4o-mini",
    model: "gpt-4o-mini",
    provider: "openai",
    inputTokens: 10,
    outputTokens: 20,
    cost,
    latencyMs: 5,
    status: "completed",
    usageSource: "provider",
    createdAt: clock.now(),
  });
}
