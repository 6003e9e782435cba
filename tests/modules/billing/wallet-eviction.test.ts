import {
  createExecutionContext,
  env,
  evictDurableObject,
  runDurableObjectAlarm,
  runInDurableObject,
  waitOnExecutionContext,
} from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import { configOf } from "../../../src/env";
import { withHold } from "../../../src/modules/billing/api";
import { CREDIT_BUCKETS } from "../../../src/modules/billing/wallet/protocol";
import { clock, testClock } from "../../../src/platform/clock";
import { fund } from "../../helpers/ai";
import { runtimeOf } from "../../helpers/runtime";
import { drainWallet, usageRecordOf, walletBalances, walletRows, walletStub } from "../../helpers/wallet";

/**
 * An `AccountWallet` evicted at any point (its instance torn down, its storage kept) loses
 * nothing: holds, settlements, alarms and expiries live in its SQLite, never in memory alone.
 */

afterEach(() => testClock.reset());

const account = () => `usr_evict${crypto.randomUUID().replaceAll("-", "").slice(0, 18)}`;

const evict = (accountId: string) => evictDurableObject(walletStub(accountId));

/** A request's hold lapses CREDIT_HOLD_TTL_SECONDS from when it is taken. */
const TTL_MS = configOf(env).CREDIT_HOLD_TTL_SECONDS * 1000;

type Hold = { reference: string; amount: number; kind: string | null; charged: number | null; late: number | null };

const holdsOf = (accountId: string) =>
  walletRows<Hold>(
    accountId,
    "SELECT reference, amount, closed_kind AS kind, charged, late_charged AS late FROM holds ORDER BY created_at, id",
  );

type Row = { seq: number; bucket: string; amount: number; reason: string; reference: string; balance_after: number };

const ledgerOf = (accountId: string) =>
  walletRows<Row>(accountId, "SELECT seq, bucket, amount, reason, reference, balance_after FROM ledger ORDER BY seq");

/**
 * Nothing lost: each balance is the sum of its ledger, what is held is what open holds keep,
 * and the D1 copy has every row the wallet wrote. Answers the balances and the ledger.
 */
async function expectBooks(accountId: string) {
  const wallet = await walletBalances(accountId);
  const ledger = await ledgerOf(accountId);
  for (const bucket of CREDIT_BUCKETS) {
    const sum = ledger.filter((row) => row.bucket === bucket).reduce((total, row) => total + row.amount, 0);
    expect(wallet.balances[bucket], `${bucket}: the sum of its ledger`).toBe(sum);
  }
  expect(wallet.held).toBe(wallet.holds.reduce((sum, open) => sum + open.amount, 0));
  expect(wallet.available).toBe(wallet.balances.included + wallet.balances.purchased - wallet.held);
  await drainWallet(accountId);
  const { results: copy } = await env.DB.prepare(
    `SELECT seq, bucket, amount, reason, reference, balance_after FROM credit_ledger
     WHERE account_id = ? AND seq IS NOT NULL ORDER BY seq`,
  )
    .bind(accountId)
    .all<Row>();
  expect(copy).toEqual(ledger);
  return { ...wallet, ledger };
}

describe("an evicted wallet", () => {
  it("loses nothing between hold, settle and balance", async () => {
    const id = account();
    await fund(id, 5_000);
    const reference = `ai:${crypto.randomUUID()}`;
    const held = await walletStub(id).hold({
      accountId: id,
      reference,
      amount: 2_000,
      expiresAt: clock.now() + TTL_MS,
    });
    expect(held).toMatchObject({ ok: true, hold: { amount: 2_000 } });
    // Eviction really tears the instance down: what only it remembered is gone.
    await runInDurableObject(walletStub(id), (instance) => Object.assign(instance, { marker: "before" }));
    await evict(id);
    expect(await runInDurableObject(walletStub(id), (instance) => (instance as { marker?: string }).marker)).toBe(
      undefined,
    );
    const settled = await walletStub(id).settle({
      accountId: id,
      reference,
      actual: 1_500,
      records: [],
      keepCount: true,
    });
    expect(settled).toEqual({ ok: true, charged: 1_500, shortfall: 0, late: false });
    await evict(id);
    const books = await expectBooks(id);
    expect(books).toMatchObject({ balances: { included: 0, purchased: 3_500 }, held: 0, available: 3_500, holds: [] });
    expect(books.ledger.filter((row) => row.reason === "spend")).toMatchObject([
      { bucket: "purchased", amount: -1_500 },
    ]);
    expect(await holdsOf(id)).toEqual([{ reference, amount: 2_000, kind: "settled", charged: 1_500, late: null }]);
    // Settling again after another eviction answers the first settlement, charging nothing more.
    await evict(id);
    expect(
      await walletStub(id).settle({ accountId: id, reference, actual: 1_500, records: [], keepCount: true }),
    ).toEqual(settled);
    expect((await expectBooks(id)).balances.purchased).toBe(3_500);
  });

  it("loses nothing when evicted between each step of a withHold spend (hold, run, settle)", async () => {
    const id = account();
    await fund(id, 10_000);
    const ctx = createExecutionContext();
    const usage = usageRecordOf(id);
    const reference = `job:${crypto.randomUUID()}:1`;
    const { result, charged } = await withHold(
      { ...runtimeOf(), waitUntil: (promise) => ctx.waitUntil(promise) },
      {
        payer: { accountId: id },
        reference,
        ceiling: 3_000,
        run: async (hold) => {
          await evict(id); // between hold and run
          const during = await walletBalances(id);
          await evict(id); // between run and settle
          return { hold, during };
        },
        measure: () => ({ cost: 1_200.4, records: [usage] }),
      },
    );
    await waitOnExecutionContext(ctx);
    expect(result.hold).toMatchObject({ reference, amount: 3_000 });
    expect(result.during).toMatchObject({ held: 3_000, available: 7_000 });
    expect(charged).toBe(1_201);
    await evict(id); // between settle and balance
    const books = await expectBooks(id);
    expect(books).toMatchObject({ balances: { purchased: 10_000 - 1_201 }, held: 0, available: 10_000 - 1_201 });
    expect(await holdsOf(id)).toEqual([{ reference, amount: 3_000, kind: "settled", charged: 1_201, late: null }]);
    const { results: usageRows } = await env.DB.prepare("SELECT id, charged FROM ai_usage WHERE account_id = ?")
      .bind(id)
      .all();
    expect(usageRows).toEqual([{ id: usage.id, charged: 1_201 }]);
  });

  it("expires a hold by its alarm across evictions, and a late settlement after more evictions charges once", async () => {
    const id = account();
    await fund(id, 4_000);
    const reference = `ai:${crypto.randomUUID()}`;
    await walletStub(id).hold({ accountId: id, reference, amount: 3_000, expiresAt: clock.now() + TTL_MS });
    await evict(id);
    // The alarm was kept with the storage: it expires the hold though the instance that set it is gone.
    testClock.advance(TTL_MS + 1);
    expect(await runDurableObjectAlarm(walletStub(id))).toBe(true);
    await evict(id);
    expect(await walletBalances(id)).toMatchObject({ balances: { purchased: 4_000 }, held: 0, available: 4_000 });
    expect(await holdsOf(id)).toMatchObject([{ reference, kind: "expired", charged: 0, late: null }]);
    await evict(id);
    const late = await walletStub(id).settle({ accountId: id, reference, actual: 2_500, records: [], keepCount: true });
    expect(late).toEqual({ ok: true, charged: 2_500, shortfall: 0, late: true });
    await evict(id);
    expect(
      await walletStub(id).settle({ accountId: id, reference, actual: 2_500, records: [], keepCount: true }),
    ).toEqual(late);
    await evict(id);
    const books = await expectBooks(id);
    expect(books).toMatchObject({ balances: { purchased: 1_500 }, held: 0, available: 1_500 });
    expect(books.ledger.filter((row) => row.reason !== "test")).toMatchObject([
      { bucket: "purchased", amount: -2_500, reason: "late_charge" },
    ]);
    expect(await holdsOf(id)).toMatchObject([{ reference, kind: "expired", late: 2_500 }]);
  });

  it("charges a withHold whose run outlived its hold late, once, across the expiry and evictions", async () => {
    const id = account();
    await fund(id, 6_000);
    const ctx = createExecutionContext();
    const reference = `job:${crypto.randomUUID()}:1`;
    const { charged } = await withHold(
      { ...runtimeOf(), waitUntil: (promise) => ctx.waitUntil(promise) },
      {
        payer: { accountId: id },
        reference,
        ceiling: 5_000,
        run: async () => {
          await evict(id);
          // The work outlives its hold: the alarm expires it, the instance is evicted again.
          testClock.advance(TTL_MS + 1);
          expect(await runDurableObjectAlarm(walletStub(id))).toBe(true);
          expect(await walletBalances(id)).toMatchObject({ held: 0, available: 6_000 });
          await evict(id);
          return null;
        },
        measure: () => ({ cost: 4_000 }),
      },
    );
    await waitOnExecutionContext(ctx);
    expect(charged).toBe(4_000);
    await evict(id);
    const books = await expectBooks(id);
    expect(books).toMatchObject({ balances: { purchased: 2_000 }, held: 0 });
    expect(books.ledger.map((row) => [row.reason, row.amount])).toEqual([
      ["test", 6_000],
      ["late_charge", -4_000],
    ]);
    expect(await holdsOf(id)).toMatchObject([{ reference, kind: "expired", late: 4_000 }]);
  });
});
