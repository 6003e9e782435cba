import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { type Settlement, type SpendContext, withHold } from "../../../src/modules/billing/api";
import { AppError } from "../../../src/platform/errors";
import { fund, purchasedBalance, usageRowsOf } from "../../helpers/ai";
import { runtimeOf } from "../../helpers/runtime";
import { usageRecordOf, walletBalances, walletRows, walletStub } from "../../helpers/wallet";

/**
 * `withHold`, the one way modules spend credits (billing/spending.ts): its semantics as the
 * README states them, on the account's wallet.
 */

async function spender() {
  const accountId = `usr_spend${crypto.randomUUID().replaceAll("-", "").slice(0, 20)}`;
  await fund(accountId, 10_000);
  const ctx = createExecutionContext();
  const spend: SpendContext = { ...runtimeOf(), waitUntil: (promise) => ctx.waitUntil(promise) };
  return { accountId, spend, settled: () => waitOnExecutionContext(ctx) };
}

/** Every hold of the account's wallet, open or closed (`kind`), oldest first. */
const holdsOf = (accountId: string) =>
  walletRows<{ reference: string; amount: number; expires_at: number; kind: string | null; charged: number | null }>(
    accountId,
    "SELECT reference, amount, expires_at, closed_kind AS kind, charged FROM holds ORDER BY created_at, id",
  );

describe("withHold", () => {
  it("holds the ceiling, runs, and settles what the result cost, returning the rest", async () => {
    const { accountId, spend, settled } = await spender();
    const { result, charged } = await withHold(spend, {
      payer: { accountId },
      reference: "job:1:a",
      ceiling: 1_000,
      run: async (held) => held?.amount,
      measure: () => ({ cost: 249.2 }),
    });
    expect(result).toBe(1_000);
    expect(charged).toBe(250); // rounded up once
    await settled();
    expect(await purchasedBalance(accountId)).toBe(10_000 - 250);
    expect(await holdsOf(accountId)).toMatchObject([
      { reference: "job:1:a", amount: 1_000, kind: "settled", charged: 250 },
    ]);
    // The hold wrote nothing; the settlement wrote what it charged, and the balance is the ledger's sum.
    const ledger = await walletRows<{ amount: number; reason: string }>(
      accountId,
      "SELECT amount, reason FROM ledger ORDER BY seq",
    );
    expect(ledger).toEqual([
      { amount: 10_000, reason: "test" },
      { amount: -250, reason: "spend" },
    ]);
  });

  it("charges a failed run what its meter counted (calls within the hold), and settles with the meter's total", async () => {
    const { accountId, spend, settled } = await spender();
    // An inner call answered (metered 120.4) and its answer proved unusable: the run fails.
    await expect(
      withHold(spend, {
        payer: { accountId },
        reference: "job:meter:failed",
        ceiling: 1_000,
        run: async (_held, meter) => {
          meter.add(120.4);
          meter.add(-50); // a negative cost adds nothing
          throw new Error("the answer was not usable");
        },
        measure: () => ({ cost: 0 }),
      }),
    ).rejects.toThrow("not usable");
    // A cost that is not a number charges the whole hold, never nothing.
    await expect(
      withHold(spend, {
        payer: { accountId },
        reference: "job:meter:nan",
        ceiling: 400,
        run: async (_held, meter) => {
          meter.add(10);
          meter.add(Number.NaN);
          meter.add(10);
          throw new Error("an answer with no price");
        },
        measure: () => ({ cost: 0 }),
      }),
    ).rejects.toThrow("no price");
    // Two inner calls, both metered: what the result cost is what the meter counted.
    const { charged } = await withHold(spend, {
      payer: { accountId },
      reference: "job:meter:done",
      ceiling: 1_000,
      run: async (_held, meter) => {
        meter.add(100);
        meter.add(49.5);
        return "done";
      },
      measure: (_result, meter) => ({ cost: meter.consumed }),
    });
    expect(charged).toBe(150);
    await settled();
    expect(await holdsOf(accountId)).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ reference: "job:meter:failed", kind: "settled", charged: 121 }),
        expect.objectContaining({ reference: "job:meter:nan", kind: "settled", charged: 400 }),
        expect.objectContaining({ reference: "job:meter:done", kind: "settled", charged: 150 }),
      ]),
    );
    expect(await purchasedBalance(accountId)).toBe(10_000 - 121 - 400 - 150);
  });

  it("is idempotent by reference: a retried step finds its open hold, never takes a second", async () => {
    const { accountId, spend, settled } = await spender();
    let release: () => void = () => {};
    const first = withHold(spend, {
      payer: { accountId },
      reference: "job:2:step",
      ceiling: 3_000,
      run: () => new Promise<string>((resolve) => (release = () => resolve("first"))),
      measure: () => ({ cost: 100 }),
    });
    await new Promise((resolve) => setTimeout(resolve, 50));
    const retried = await withHold(spend, {
      payer: { accountId },
      reference: "job:2:step",
      ceiling: 3_000,
      run: async () => "retried",
      measure: () => ({ cost: 100 }),
    });
    release();
    await first;
    await settled();
    expect(retried.result).toBe("retried");
    const holds = await holdsOf(accountId);
    expect(holds).toHaveLength(1);
    expect(await purchasedBalance(accountId)).toBe(10_000 - 100);
  });

  it("refuses a reference whose hold has ended, or that holds another amount (409)", async () => {
    const { accountId, spend, settled } = await spender();
    const step = (ceiling: number) =>
      withHold(spend, {
        payer: { accountId },
        reference: "job:2b:step",
        ceiling,
        run: async () => "ran",
        measure: () => ({ cost: 10 }),
      });
    await step(1_000);
    await settled();
    await expect(step(1_000)).rejects.toMatchObject({ code: "conflict" });
    await expect(step(2_000)).rejects.toMatchObject({ code: "conflict" });
    expect(await purchasedBalance(accountId)).toBe(10_000 - 10);
  });

  it("refuses with a 402 that SDKs do not retry when nothing fits, naming the key's budget when it is the cause", async () => {
    const { accountId, spend } = await spender();
    const refusal = (payer: Parameters<typeof withHold>[1]["payer"], fit?: (spendable: number) => number) =>
      withHold(spend, {
        payer,
        reference: `req:${crypto.randomUUID()}`,
        ceiling: 50_000,
        ...(fit ? { fit } : {}),
        run: async () => "never",
        measure: () => ({ cost: 0 }),
      }).catch((error: unknown) => error);
    const tooLittle = await refusal({ accountId });
    expect(tooLittle).toMatchObject({ code: "insufficient_credits", headers: { "x-should-retry": "false" } });
    // A fit that finds too little, because the key's budget (100) is what is left, not the balance.
    const tooLittleForFit = () => {
      throw new AppError("insufficient_credits", "Your credits do not cover a minimal answer.");
    };
    const overBudget = await refusal({ accountId, apiKeyId: "key_1", keyMonthlyBudget: 100 }, tooLittleForFit);
    expect(overBudget).toMatchObject({ code: "budget_exceeded", headers: { "x-should-retry": "false" } });
    expect(await holdsOf(accountId)).toEqual([]);
    const budget = { key: "api_key:key_1", limit: 100, period: "month" as const };
    expect((await walletStub(accountId).status(accountId, { budgets: [budget] })).budgets).toEqual([
      { key: "api_key:key_1", left: 100 },
    ]);
    expect(await purchasedBalance(accountId)).toBe(10_000);
  });

  it("always closes the hold: what the meter counted when `failed` throws, the whole hold when `measure` does", async () => {
    const { accountId, spend, settled } = await spender();
    await expect(
      withHold(spend, {
        payer: { accountId },
        reference: "req:8a",
        ceiling: 700,
        run: async (_held, meter) => {
          meter.add(80);
          throw new Error("the call failed");
        },
        measure: () => ({ cost: 0 }),
        failed: () => Promise.reject(new Error("the failure's accounting failed too")),
      }),
    ).rejects.toThrow("the call failed");
    expect(await purchasedBalance(accountId)).toBe(10_000 - 80);
    const { charged } = await withHold(spend, {
      payer: { accountId },
      reference: "req:8b",
      ceiling: 700,
      run: async () => "done",
      measure: () => {
        throw new Error("no usage to read");
      },
    });
    expect(charged).toBe(700);
    await settled();
    expect(await purchasedBalance(accountId)).toBe(10_000 - 80 - 700);
    expect(await holdsOf(accountId)).toMatchObject([
      { reference: "req:8a", kind: "settled", charged: 80 },
      { reference: "req:8b", kind: "settled", charged: 700 },
    ]);
  });

  it("charges a failed run what it consumed, settled before the failure is answered", async () => {
    const { accountId, spend } = await spender();
    await expect(
      withHold(spend, {
        payer: { accountId },
        reference: "req:3",
        ceiling: 2_000,
        run: () => Promise.reject(new Error("the stream broke")),
        measure: () => ({ cost: 0 }),
        failed: () => ({ cost: 120 }),
      }),
    ).rejects.toThrow("the stream broke");
    // No waiting on waitUntil: the failure was settled before it was answered.
    expect(await purchasedBalance(accountId)).toBe(10_000 - 120);
  });

  it("settles a cost known later (a stream) when it arrives, with its record in the same batch", async () => {
    const { accountId, spend, settled } = await spender();
    let end: (settlement: Settlement) => void = () => {};
    const { charged } = await withHold(spend, {
      payer: { accountId },
      reference: "req:4",
      ceiling: 2_000,
      run: async () => "streaming",
      measure: () => new Promise<Settlement>((resolve) => (end = resolve)),
    });
    expect(charged).toBeNull();
    // Held, not settled yet: the balance is whole, what can be spent is not.
    expect(await walletBalances(accountId)).toMatchObject({
      balances: { purchased: 10_000 },
      held: 2_000,
      available: 8_000,
    });
    const usage = usageRecordOf(accountId);
    end({ cost: 300, records: [usage] });
    await settled();
    expect(await purchasedBalance(accountId)).toBe(10_000 - 300);
    // The record reaches its sink charged what the settlement charged, with the ledger row.
    expect(await usageRowsOf(accountId)).toEqual([expect.objectContaining({ id: usage.id, charged: 300 })]);
    const spent = await env.DB.prepare("SELECT amount FROM credit_ledger WHERE account_id = ? AND reason = 'spend'")
      .bind(accountId)
      .all<{ amount: number }>();
    expect(spent.results).toEqual([{ amount: -300 }]);
  });

  it("fits the hold to what is left when the full ceiling is refused", async () => {
    const { accountId, spend, settled } = await spender();
    const { result } = await withHold(spend, {
      payer: { accountId },
      reference: "req:5",
      ceiling: 50_000,
      fit: (spendable) => Math.min(spendable, 4_000),
      run: async (held) => held?.amount,
      measure: () => ({ cost: 10 }),
    });
    expect(result).toBe(4_000);
    await settled();
  });

  it("holds a job's step until the job's deadline, not the request hold's lifetime", async () => {
    const { accountId, spend, settled } = await spender();
    const deadline = Date.now() + 6 * 60 * 60 * 1000;
    await withHold(spend, {
      payer: { accountId },
      reference: "job:6:render",
      ceiling: 500,
      expiresAt: deadline,
      run: async () => null,
      measure: () => ({ cost: 1 }),
    });
    await settled();
    expect((await holdsOf(accountId))[0]?.expires_at).toBe(deadline);
  });

  it("holds nothing for free work, and still writes its record", async () => {
    const { accountId, spend, settled } = await spender();
    const usage = usageRecordOf(accountId);
    const { charged } = await withHold(spend, {
      payer: { accountId },
      reference: "req:7",
      ceiling: 0,
      run: async (held) => held,
      measure: () => ({ cost: 0, records: [usage] }),
    });
    expect(charged).toBe(0);
    await settled();
    expect(await holdsOf(accountId)).toEqual([]);
    expect(await usageRowsOf(accountId)).toEqual([expect.objectContaining({ id: usage.id, charged: 0 })]);
    expect(await purchasedBalance(accountId)).toBe(10_000);
  });
});
