import { env, evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import fc from "fast-check";
import { afterEach, describe, expect, it } from "vitest";
import { configOf } from "../../../src/env";
import {
  type Budget,
  type CounterTake,
  CREDIT_BUCKETS,
  type CreditBucket,
  type HoldView,
  type IncludedPeriod,
} from "../../../src/modules/billing/wallet/protocol";
import { clock, DAY_MS, testClock } from "../../../src/platform/clock";
import { api, expectProblem } from "../../helpers/client";
import { as, platformAdmin, type Registered, registerUser } from "../../helpers/identity";
import { expectMatrix, MEMBERS_WITHOUT_KEYS, roleMatrix } from "../../helpers/roles";
import { drainWallet, walletBalances, walletStub } from "../../helpers/wallet";

/**
 * The `AccountWallet` (billing/wallet): each account's credits, holds, budgets and counters in
 * its own Durable Object, reached here through its RPC stub as the Worker reaches it, and the
 * routes that read it (`GET /v1/credits`) and its D1 copy (`GET /v1/credits/ledger`).
 */

afterEach(() => testClock.reset());

const CREDIT = 1_000;
const account = () => `usr_${crypto.randomUUID().replaceAll("-", "").slice(0, 26).toUpperCase()}`;
let references = 0;
const ref = (what = "test") => `${what}:${++references}:${crypto.randomUUID()}`;

/** A request's hold lapses CREDIT_HOLD_TTL_SECONDS (15 minutes by default) from now. */
const requestExpiry = () => clock.now() + configOf(env).CREDIT_HOLD_TTL_SECONDS * 1000;

const give = (accountId: string, bucket: CreditBucket, amount: number, reference = ref("grant")) =>
  walletStub(accountId).grant({ accountId, bucket, amount, reason: "test", reference });

type HoldOptions = { reference?: string; budget?: Budget; counter?: CounterTake; included?: IncludedPeriod };

const hold = (accountId: string, amount: number, options: HoldOptions = {}) =>
  walletStub(accountId).hold({
    accountId,
    amount,
    reference: options.reference ?? ref("ai"),
    expiresAt: requestExpiry(),
    ...(options.budget ? { budget: options.budget } : {}),
    ...(options.counter ? { counter: options.counter } : {}),
    ...(options.included ? { included: options.included } : {}),
  });

/** A hold that must be granted. */
async function held(accountId: string, amount: number, options: HoldOptions = {}): Promise<HoldView> {
  const answer = await hold(accountId, amount, options);
  if (answer.ok !== true || !answer.hold) throw new Error(`no hold: ${JSON.stringify(answer)}`);
  return answer.hold;
}

const settle = (accountId: string, reference: string, actual: number, keepCount = true) =>
  walletStub(accountId).settle({ accountId, reference, actual, records: [], keepCount });

type LedgerRow = {
  seq: number;
  bucket: CreditBucket;
  amount: number;
  reason: string;
  reference: string;
  balance_after: number;
};

/** Reads the wallet's own SQLite. */
const inWallet = <T>(accountId: string, read: (sql: SqlStorage) => T) =>
  runInDurableObject(walletStub(accountId), (_instance, state) => read(state.storage.sql));

const walletLedger = (accountId: string) =>
  inWallet(accountId, (sql) =>
    sql
      .exec<LedgerRow>("SELECT seq, bucket, amount, reason, reference, balance_after FROM ledger ORDER BY seq")
      .toArray(),
  );

const walletBuckets = (accountId: string) =>
  inWallet(accountId, (sql) =>
    sql
      .exec<{ bucket: CreditBucket; balance: number; held: number }>("SELECT bucket, balance, held FROM balances")
      .toArray(),
  );

/** The next sequence number the wallet would give: unchanged when an operation wrote nothing. */
const nextSeq = (accountId: string) =>
  inWallet(accountId, (sql) => sql.exec<{ next_seq: number }>("SELECT next_seq FROM state").one().next_seq);

const openHoldRows = (accountId: string) =>
  inWallet(
    accountId,
    (sql) => sql.exec<{ n: number }>("SELECT count(*) AS n FROM holds WHERE closed_at IS NULL").one().n,
  );

/** The D1 copy of the wallet's ledger, once the wallet's outbox has reached it. */
async function copiedLedger(accountId: string): Promise<LedgerRow[]> {
  await drainWallet(accountId);
  const { results } = await env.DB.prepare(
    `SELECT seq, bucket, amount, reason, reference, balance_after FROM credit_ledger
     WHERE account_id = ? AND seq IS NOT NULL ORDER BY seq`,
  )
    .bind(accountId)
    .all<LedgerRow>();
  return results;
}

/** Each row's `balance_after` is its bucket's running sum, and the last one is the bucket's balance. */
function expectRunningSums(where: string, rows: LedgerRow[], balances: Record<CreditBucket, number>) {
  for (const bucket of CREDIT_BUCKETS) {
    let sum = 0;
    for (const row of rows.filter((entry) => entry.bucket === bucket)) {
      sum += row.amount;
      expect(row.balance_after, `${where}: ${bucket} row ${row.seq} (${row.reference})`).toBe(sum);
    }
    expect(sum, `${where}: the sum of the ${bucket} ledger`).toBe(balances[bucket]);
  }
}

/**
 * The money invariants, in the wallet and in its D1 copy: no bucket below what its holds keep,
 * nothing negative, each balance the sum of its ledger (and every `balance_after` the running
 * sum), the copy the same rows as the wallet.
 */
async function expectInvariants(accountId: string) {
  // Asked first: a wallet never touched before is created (empty) by its first call.
  const wallet = await walletBalances(accountId);
  const buckets = await walletBuckets(accountId);
  const balances = { included: 0, purchased: 0 };
  let held = 0;
  for (const row of buckets) {
    expect(row.held).toBeGreaterThanOrEqual(0);
    expect(row.balance).toBeGreaterThanOrEqual(row.held);
    balances[row.bucket] = row.balance;
    held += row.held;
  }
  expect(wallet.balances).toEqual(balances);
  expect(wallet.held).toBe(held);
  expect(wallet.held).toBe(wallet.holds.reduce((sum, open) => sum + open.amount, 0));
  expect(wallet.available).toBe(balances.included + balances.purchased - held);
  expect(wallet.available).toBeGreaterThanOrEqual(0);
  const ledger = await walletLedger(accountId);
  expectRunningSums("wallet", ledger, balances);
  const copy = await copiedLedger(accountId);
  expectRunningSums("D1 copy", copy, balances);
  expect(copy).toEqual(ledger);
  return { ...balances, held, available: wallet.available, ledger };
}

describe("the account wallet", () => {
  it("applies a grant once per reference, and never removes what the bucket does not have", async () => {
    const id = account();
    const reference = ref();
    const first = await give(id, "purchased", 5 * CREDIT, reference);
    expect(first).toMatchObject({
      ok: true,
      applied: true,
      entry: { bucket: "purchased", amount: 5 * CREDIT, reason: "test", reference, balanceAfter: 5 * CREDIT },
    });
    expect(await give(id, "purchased", 5 * CREDIT, reference)).toEqual({ ok: true, applied: false, entry: null });
    expect(await expectInvariants(id)).toMatchObject({ purchased: 5 * CREDIT, included: 0 });
    expect(await give(id, "purchased", -6 * CREDIT)).toMatchObject({
      ok: false,
      code: "insufficient_credits",
      available: 5 * CREDIT,
    });
    // A removal never takes what an open hold keeps either.
    await held(id, 4 * CREDIT);
    expect(await give(id, "purchased", -2 * CREDIT)).toMatchObject({
      ok: false,
      code: "insufficient_credits",
      available: CREDIT,
    });
    expect(await give(id, "purchased", -CREDIT)).toMatchObject({ ok: true, applied: true });
    expect(await expectInvariants(id)).toMatchObject({ purchased: 4 * CREDIT, held: 4 * CREDIT, available: 0 });
  });

  it("holds from included first, writes no ledger row for a hold, and settles the actual cost included first", async () => {
    const id = account();
    await give(id, "included", 3 * CREDIT);
    await give(id, "purchased", 10 * CREDIT);
    const rowsBefore = (await walletLedger(id)).length;
    const open = await held(id, 5 * CREDIT);
    expect(open).toMatchObject({ amount: 5 * CREDIT, fromIncluded: 3 * CREDIT, fromPurchased: 2 * CREDIT });
    // The hold keeps its parts; the balances stay the sums of their ledgers.
    expect(await expectInvariants(id)).toMatchObject({
      included: 3 * CREDIT,
      purchased: 10 * CREDIT,
      held: 5 * CREDIT,
      available: 8 * CREDIT,
    });
    expect(await walletLedger(id)).toHaveLength(rowsBefore);
    expect(await settle(id, open.reference, 1_500)).toEqual({ ok: true, charged: 1_500, shortfall: 0, late: false });
    const after = await expectInvariants(id);
    expect(after).toMatchObject({ included: 1_500, purchased: 10 * CREDIT, held: 0, available: 11_500 });
    expect(after.ledger.slice(rowsBefore)).toMatchObject([
      { bucket: "included", amount: -1_500, reason: "spend", reference: `spend:${open.id}:included` },
    ]);
  });

  it("charges the included part of a hold first, then purchased, and only what the hold kept", async () => {
    const id = account();
    await give(id, "included", 3 * CREDIT);
    await give(id, "purchased", 10 * CREDIT);
    const open = await held(id, 5 * CREDIT);
    expect(await settle(id, open.reference, 4_200)).toEqual({ ok: true, charged: 4_200, shortfall: 0, late: false });
    const after = await expectInvariants(id);
    expect(after).toMatchObject({ included: 0, purchased: 10 * CREDIT - 1_200 });
    expect(after.ledger.slice(2)).toMatchObject([
      { bucket: "included", amount: -3 * CREDIT, reason: "spend", reference: `spend:${open.id}:included` },
      { bucket: "purchased", amount: -1_200, reason: "spend", reference: `spend:${open.id}:purchased` },
    ]);
  });

  it("charges at most the hold and records the excess as a shortfall", async () => {
    const id = account();
    await give(id, "purchased", 2 * CREDIT);
    const open = await held(id, CREDIT);
    expect(await settle(id, open.reference, 1_700)).toEqual({ ok: true, charged: CREDIT, shortfall: 700, late: false });
    expect(await expectInvariants(id)).toMatchObject({ purchased: CREDIT, held: 0, available: CREDIT });
  });

  it("answers a second settlement with the first one's result, and charges once", async () => {
    const id = account();
    await give(id, "included", CREDIT);
    await give(id, "purchased", 5 * CREDIT);
    const open = await held(id, 3 * CREDIT);
    const first = await settle(id, open.reference, 2_500);
    expect(first).toEqual({ ok: true, charged: 2_500, shortfall: 0, late: false });
    // A retry whose answer was lost, even one that says something else, gets the first answer.
    expect(await settle(id, open.reference, 2_500)).toEqual(first);
    expect(await settle(id, open.reference, 3_000)).toEqual(first);
    expect(await settle(id, open.reference, 0)).toEqual(first);
    const after = await expectInvariants(id);
    expect(after).toMatchObject({ included: 0, purchased: 3_500 });
    expect(after.ledger.filter((row) => row.reference.startsWith(`spend:${open.id}:`))).toHaveLength(2);
  });

  it("releases a hold settled at 0 without a ledger row", async () => {
    const id = account();
    await give(id, "purchased", 3 * CREDIT);
    const open = await held(id, 2 * CREDIT);
    const rowsBefore = (await walletLedger(id)).length;
    expect(await settle(id, open.reference, 0)).toEqual({ ok: true, charged: 0, shortfall: 0, late: false });
    expect(await expectInvariants(id)).toMatchObject({ purchased: 3 * CREDIT, held: 0, available: 3 * CREDIT });
    expect(await walletLedger(id)).toHaveLength(rowsBefore);
    expect(await openHoldRows(id)).toBe(0);
  });

  it("refuses a hold beyond both buckets as a value, and writes nothing", async () => {
    const id = account();
    await give(id, "included", CREDIT);
    await give(id, "purchased", CREDIT);
    const seq = await nextSeq(id);
    expect(await hold(id, 2 * CREDIT + 1)).toEqual({
      ok: false,
      code: "insufficient_credits",
      detail: expect.any(String),
      available: 2 * CREDIT,
    });
    expect(await nextSeq(id)).toBe(seq);
    expect(await openHoldRows(id)).toBe(0);
    expect(await expectInvariants(id)).toMatchObject({ included: CREDIT, purchased: CREDIT, held: 0 });
  });

  it("answers a repeated hold with its open hold, and a different amount or an ended hold with conflict", async () => {
    const id = account();
    await give(id, "purchased", 10 * CREDIT);
    const reference = ref("ai");
    const first = await held(id, CREDIT, { reference });
    expect(await hold(id, CREDIT, { reference })).toEqual({ ok: true, hold: first });
    expect(await hold(id, 2 * CREDIT, { reference })).toMatchObject({ ok: false, code: "conflict" });
    expect(await expectInvariants(id)).toMatchObject({ purchased: 10 * CREDIT, held: CREDIT, available: 9 * CREDIT });
    await settle(id, reference, 0);
    expect(await hold(id, CREDIT, { reference })).toMatchObject({ ok: false, code: "conflict" });
    expect(await expectInvariants(id)).toMatchObject({ purchased: 10 * CREDIT, held: 0 });
  });

  it("scopes hold references per account, and answers only for its own account", async () => {
    const [first, second] = [account(), account()];
    await give(first, "purchased", 5 * CREDIT);
    await give(second, "purchased", 5 * CREDIT);
    const reference = ref("ai");
    const mine = await held(first, CREDIT, { reference });
    const theirs = await held(second, CREDIT, { reference });
    expect(theirs.id).not.toBe(mine.id);
    expect(await settle(first, reference, CREDIT)).toMatchObject({ ok: true, charged: CREDIT });
    expect(await hold(first, CREDIT, { reference })).toMatchObject({ ok: false, code: "conflict" });
    // A call naming another account is refused by the wallet, and changes nothing in either.
    const seq = await nextSeq(first);
    const foreign = await walletStub(first)
      .settle({ accountId: second, reference, actual: 0, records: [], keepCount: true })
      .then(
        () => null,
        (error: unknown) => error,
      );
    expect(String(foreign)).toMatch(/belongs to/);
    // A reference this wallet never held is not_found, and the records sent with it go nowhere.
    expect(
      await walletStub(first).settle({
        accountId: first,
        reference: ref("never"),
        actual: CREDIT,
        records: [{ sink: "ai.usage", id: ref("use"), body: {} }],
        keepCount: true,
      }),
    ).toMatchObject({ ok: false, code: "not_found" });
    expect(await nextSeq(first)).toBe(seq);
    expect(await expectInvariants(first)).toMatchObject({ purchased: 4 * CREDIT, held: 0 });
    expect(await expectInvariants(second)).toMatchObject({
      purchased: 5 * CREDIT,
      held: CREDIT,
      available: 4 * CREDIT,
    });
    expect(await settle(second, reference, 0)).toMatchObject({ ok: true, charged: 0 });
    expect(await expectInvariants(second)).toMatchObject({ purchased: 5 * CREDIT, held: 0, available: 5 * CREDIT });
  });

  it("applies one grant reference once in each account's wallet, and copies both", async () => {
    const [first, second] = [account(), account()];
    const reference = ref("grant");
    expect(await give(first, "purchased", 2 * CREDIT, reference)).toMatchObject({ ok: true, applied: true });
    expect(await give(second, "purchased", 3 * CREDIT, reference)).toMatchObject({ ok: true, applied: true });
    expect(await give(first, "purchased", 2 * CREDIT, reference)).toMatchObject({ ok: true, applied: false });
    expect(await expectInvariants(first)).toMatchObject({ purchased: 2 * CREDIT });
    expect(await expectInvariants(second)).toMatchObject({ purchased: 3 * CREDIT });
  });

  it("lets exactly 50 of 100 concurrent one-credit holds through a balance of 50", async () => {
    const id = account();
    await give(id, "included", 20 * CREDIT);
    await give(id, "purchased", 30 * CREDIT);
    const answers = await Promise.all(Array.from({ length: 100 }, () => hold(id, CREDIT)));
    expect(answers.filter((answer) => answer.ok)).toHaveLength(50);
    for (const answer of answers) {
      if (!answer.ok) expect(answer).toMatchObject({ code: "insufficient_credits", available: 0 });
    }
    expect(await expectInvariants(id)).toMatchObject({
      included: 20 * CREDIT,
      purchased: 30 * CREDIT,
      held: 50 * CREDIT,
      available: 0,
    });
  });

  it("expires holds left open past their expiry once, by its alarm; a late settlement charges what is spendable, once", async () => {
    const id = account();
    await give(id, "purchased", 4 * CREDIT);
    const stale = await held(id, 3 * CREDIT);
    const rowsBefore = (await walletLedger(id)).length;
    testClock.advance(15 * 60_000 + 1);
    expect(await runDurableObjectAlarm(walletStub(id))).toBe(true);
    // Expiry writes no ledger row: the hold's parts are simply spendable again.
    expect(await expectInvariants(id)).toMatchObject({ purchased: 4 * CREDIT, held: 0, available: 4 * CREDIT });
    expect(await walletLedger(id)).toHaveLength(rowsBefore);
    const fresh = await held(id, CREDIT);
    await runDurableObjectAlarm(walletStub(id));
    expect(await expectInvariants(id)).toMatchObject({ purchased: 4 * CREDIT, held: CREDIT, available: 3 * CREDIT });
    // The stale hold's work finished after all: charged late, from what is spendable now (the
    // fresh hold keeps its part), once.
    const late = await settle(id, stale.reference, 3_500);
    expect(late).toEqual({ ok: true, charged: 3_000, shortfall: 500, late: true });
    expect(await settle(id, stale.reference, 3_500)).toEqual(late);
    expect(await expectInvariants(id)).toMatchObject({ purchased: CREDIT, held: CREDIT, available: 0 });
    expect(await settle(id, fresh.reference, CREDIT)).toMatchObject({ ok: true, charged: CREDIT, late: false });
    const after = await expectInvariants(id);
    expect(after).toMatchObject({ included: 0, purchased: 0, held: 0 });
    expect(after.ledger.filter((row) => row.reason === "late_charge")).toMatchObject([
      { bucket: "purchased", amount: -3_000, reference: `late:${stale.id}:purchased` },
    ]);
    expect(await hold(id, 3 * CREDIT, { reference: stale.reference })).toMatchObject({ ok: false, code: "conflict" });
  });

  it("loses nothing when evicted between hold and settle", async () => {
    const id = account();
    await give(id, "purchased", 5 * CREDIT);
    await evictDurableObject(walletStub(id));
    const open = await held(id, 2 * CREDIT);
    await evictDurableObject(walletStub(id));
    expect(await walletBalances(id)).toMatchObject({ held: 2 * CREDIT, available: 3 * CREDIT });
    await evictDurableObject(walletStub(id));
    const first = await settle(id, open.reference, 1_500);
    expect(first).toEqual({ ok: true, charged: 1_500, shortfall: 0, late: false });
    await evictDurableObject(walletStub(id));
    expect(await settle(id, open.reference, 1_500)).toEqual(first);
    expect(await expectInvariants(id)).toMatchObject({ purchased: 3_500, held: 0 });
  });
});

describe("budgets and counters in the wallet", () => {
  const DAY_BUDGET = (limit: number): Budget => ({ key: "key:ci", limit, period: "day" });
  const status = (id: string, budget: Budget) =>
    walletStub(id)
      .status(id, { budgets: [budget] })
      .then((answer) => answer.budgets[0]?.left);

  it("refuses quota first, then the budget, then credits, as values that say what is left, taking nothing", async () => {
    const id = account();
    await give(id, "purchased", CREDIT);
    const periodStart = Date.UTC(2020, 0, 1);
    const counter = (amount: number): CounterTake => ({
      metric: "translated_characters",
      amount,
      limit: 100,
      periodStart,
      resetsAt: periodStart + 31 * DAY_MS,
    });
    const counted = () =>
      walletStub(id)
        .status(id, { counters: [{ metric: "translated_characters", periodStart }] })
        .then((answer) => answer.counters[0]?.used);
    const small = DAY_BUDGET(500);
    const seq = await nextSeq(id);
    expect(await hold(id, 2 * CREDIT, { counter: counter(150), budget: small })).toMatchObject({
      ok: false,
      code: "quota_exceeded",
      quota: { metric: "translated_characters", used: 0, limit: 100, resetsAt: periodStart + 31 * DAY_MS },
    });
    expect(await hold(id, 2 * CREDIT, { counter: counter(50), budget: small })).toMatchObject({
      ok: false,
      code: "budget_exceeded",
      detail: 'This request would pass the daily budget of "key:ci".',
      available: CREDIT,
      budgetLeft: 500,
    });
    expect(await hold(id, 2 * CREDIT, { counter: counter(50), budget: DAY_BUDGET(5 * CREDIT) })).toMatchObject({
      ok: false,
      code: "insufficient_credits",
      available: CREDIT,
      budgetLeft: 5 * CREDIT,
    });
    // The refusals took nothing: no count, no budget, no hold, no row.
    expect(await counted()).toBe(0);
    expect(await status(id, DAY_BUDGET(5 * CREDIT))).toBe(5 * CREDIT);
    expect(await nextSeq(id)).toBe(seq);
    expect(await openHoldRows(id)).toBe(0);
    // What fits takes all three in one step, and a failed settlement gives back the count and the budget.
    const open = await held(id, 600, { counter: counter(50), budget: DAY_BUDGET(5 * CREDIT) });
    expect(await counted()).toBe(50);
    expect(await status(id, DAY_BUDGET(5 * CREDIT))).toBe(4_400);
    expect(await settle(id, open.reference, 0, false)).toMatchObject({ ok: true, charged: 0 });
    expect(await counted()).toBe(0);
    expect(await status(id, DAY_BUDGET(5 * CREDIT))).toBe(5 * CREDIT);
    const kept = await held(id, 600, { counter: counter(50), budget: DAY_BUDGET(5 * CREDIT) });
    expect(await settle(id, kept.reference, 300, true)).toMatchObject({ ok: true, charged: 300 });
    expect(await counted()).toBe(50);
    expect(await status(id, DAY_BUDGET(5 * CREDIT))).toBe(4_700);
    // Free work that still counts: a hold of 0 takes only the counter, once per reference.
    const free = ref("translate");
    expect(await hold(id, 0, { reference: free, counter: counter(30) })).toEqual({ ok: true, hold: null });
    expect(await hold(id, 0, { reference: free, counter: counter(30) })).toEqual({ ok: true, hold: null });
    expect(await counted()).toBe(80);
    await walletStub(id).uncount(id, free);
    await walletStub(id).uncount(id, free);
    expect(await counted()).toBe(50);
    expect(await expectInvariants(id)).toMatchObject({ purchased: 700, held: 0 });
  });

  it("gives back a failed work's count even when the alarm expired its hold first", async () => {
    const id = account();
    await give(id, "purchased", 5 * CREDIT);
    const periodStart = Date.UTC(2020, 0, 1);
    const counter: CounterTake = {
      metric: "translated_characters",
      amount: 40,
      limit: 100,
      periodStart,
      resetsAt: null,
    };
    const counted = () =>
      walletStub(id)
        .status(id, { counters: [{ metric: "translated_characters", periodStart }] })
        .then((answer) => answer.counters[0]?.used);
    const failed = await held(id, CREDIT, { counter });
    const succeeded = await held(id, CREDIT, { counter });
    expect(await counted()).toBe(80);
    testClock.advance(15 * 60_000 + 1);
    expect(await runDurableObjectAlarm(walletStub(id))).toBe(true);
    expect(await walletBalances(id)).toMatchObject({ held: 0 });
    // The work that succeeded keeps its count; the one that failed (charged nothing) gives it back.
    expect(await settle(id, succeeded.reference, 500, true)).toMatchObject({ ok: true, charged: 500, late: true });
    expect(await settle(id, failed.reference, 0, false)).toMatchObject({ ok: true, charged: 0, late: true });
    expect(await counted()).toBe(40);
    expect(await expectInvariants(id)).toMatchObject({ purchased: 4_500, held: 0 });
  });

  it("holds a budget per key and day exactly under concurrency; other keys are not held back; returns give back", async () => {
    const id = account();
    await give(id, "purchased", 100 * CREDIT);
    testClock.freeze(Date.UTC(2030, 4, 10, 12));
    const budget = DAY_BUDGET(20 * CREDIT);
    const answers = await Promise.all(Array.from({ length: 50 }, () => hold(id, CREDIT, { budget })));
    const granted = answers.flatMap((answer) => (answer.ok === true && answer.hold ? [answer.hold] : []));
    expect(granted).toHaveLength(20);
    for (const answer of answers) {
      if (!answer.ok) {
        expect(answer).toEqual({
          ok: false,
          code: "budget_exceeded",
          detail: 'This request would pass the daily budget of "key:ci".',
          available: 80 * CREDIT,
          budgetLeft: 0,
        });
      }
    }
    expect(await status(id, budget)).toBe(0);
    // Another key, or no budget, is not held back.
    await held(id, CREDIT, { budget: { ...budget, key: "key:other" } });
    await held(id, CREDIT);
    const [first, second] = granted as [HoldView, HoldView];
    await settle(id, first.reference, 400);
    await settle(id, second.reference, 0);
    // 400 + 18 000 used of 20 000: one more credit fits, two do not.
    expect(await status(id, budget)).toBe(1_600);
    expect(await hold(id, 2 * CREDIT, { budget })).toMatchObject({ code: "budget_exceeded", budgetLeft: 1_600 });
    await held(id, CREDIT, { budget });
    // The next day starts afresh.
    testClock.advance(DAY_MS);
    expect(await status(id, budget)).toBe(20 * CREDIT);
    await held(id, 20 * CREDIT, { budget });
    expect(await expectInvariants(id)).toMatchObject({ purchased: 100 * CREDIT - 400 });
  });

  it("holds a monthly budget exactly under concurrency, and gives back what releases and expiries return", async () => {
    const id = account();
    await give(id, "purchased", 100 * CREDIT);
    testClock.freeze(Date.UTC(2030, 4, 10, 12));
    const budget: Budget = { key: "key:monthly", limit: 15 * CREDIT, period: "month" };
    const answers = await Promise.all(Array.from({ length: 50 }, () => hold(id, CREDIT, { budget })));
    const granted = answers.flatMap((answer) => (answer.ok === true && answer.hold ? [answer.hold] : []));
    expect(granted).toHaveLength(15);
    expect(answers.filter((answer) => !answer.ok && answer.code === "budget_exceeded")).toHaveLength(35);
    // Released (settled at 0) holds give their budget back, all of it; settled ones what they did not charge.
    await Promise.all(granted.slice(0, 5).map((open) => settle(id, open.reference, 0)));
    await Promise.all(granted.slice(5, 10).map((open) => settle(id, open.reference, 250)));
    expect(await status(id, budget)).toBe(5 * CREDIT + 5 * 750);
    // A day later the month's budget is still the month's; the holds the alarm expires give theirs back.
    testClock.advance(DAY_MS);
    expect(await status(id, budget)).toBe(5 * CREDIT + 5 * 750);
    expect(await runDurableObjectAlarm(walletStub(id))).toBe(true);
    expect(await status(id, budget)).toBe(15 * CREDIT - 5 * 250);
    // The next month starts afresh.
    testClock.freeze(Date.UTC(2030, 5, 1));
    expect(await status(id, budget)).toBe(15 * CREDIT);
    expect(await expectInvariants(id)).toMatchObject({ purchased: 100 * CREDIT - 5 * 250, held: 0 });
  });
});

describe("included credits in the wallet", () => {
  const month = (year: number, index: number, amount = 10 * CREDIT): IncludedPeriod => ({
    planId: "pro",
    amount,
    periodStart: Date.UTC(year, index, 1),
    periodEnd: Date.UTC(year, index + 1, 1),
  });

  it("grants a period once, expiring what is left of the previous one but never what holds keep", async () => {
    const id = account();
    testClock.freeze(Date.UTC(2031, 0, 15));
    const january = month(2031, 0);
    expect(await walletStub(id).grantIncluded(id, january)).toBe(true);
    expect(await walletStub(id).grantIncluded(id, january)).toBe(false);
    await give(id, "purchased", 2 * CREDIT);
    const spent = await held(id, 3 * CREDIT);
    await settle(id, spent.reference, 3 * CREDIT);
    const open = await held(id, 2 * CREDIT);
    expect(open).toMatchObject({ fromIncluded: 2 * CREDIT, fromPurchased: 0 });
    testClock.freeze(Date.UTC(2031, 1, 1, 0, 0, 1));
    const february = month(2031, 1);
    expect(await walletStub(id).grantIncluded(id, february)).toBe(true);
    expect(await walletStub(id).grantIncluded(id, february)).toBe(false);
    // A late or replayed grant of the earlier period gives nothing.
    expect(await walletStub(id).grantIncluded(id, january)).toBe(false);
    const after = await expectInvariants(id);
    // January's rest (7 000) less what the open hold keeps (2 000) expires; February's 10 000 come in.
    expect(after).toMatchObject({ included: 12 * CREDIT, held: 2 * CREDIT, available: 12 * CREDIT });
    expect(after.ledger.filter((row) => row.bucket === "included")).toMatchObject([
      { amount: 10 * CREDIT, reason: "included", reference: `plan:${id}:${january.periodStart}` },
      { amount: -3 * CREDIT, reason: "spend", reference: `spend:${spent.id}:included` },
      { amount: -5 * CREDIT, reason: "included_expired", reference: `expire:plan:${id}:${january.periodStart}` },
      { amount: 10 * CREDIT, reason: "included", reference: `plan:${id}:${february.periodStart}` },
    ]);
    await settle(id, open.reference, 2 * CREDIT);
    // When February ends with nothing granted after it, the alarm expires its rest.
    testClock.freeze(Date.UTC(2031, 2, 1, 0, 0, 1));
    expect(await runDurableObjectAlarm(walletStub(id))).toBe(true);
    const ended = await expectInvariants(id);
    expect(ended).toMatchObject({ included: 0, purchased: 2 * CREDIT });
    expect(ended.ledger.at(-1)).toMatchObject({
      bucket: "included",
      amount: -10 * CREDIT,
      reason: "included_expired",
      reference: `expire:plan:${id}:${february.periodStart}`,
    });
    // A period already over is never granted.
    expect(await walletStub(id).grantIncluded(id, month(2031, 1))).toBe(false);
  });

  it("grants the period's included credits at the first hold of the period, once", async () => {
    const id = account();
    testClock.freeze(Date.UTC(2031, 3, 10));
    const april = month(2031, 3, 4 * CREDIT);
    const first = await held(id, 3 * CREDIT, { included: april });
    expect(first).toMatchObject({ fromIncluded: 3 * CREDIT, fromPurchased: 0 });
    await held(id, CREDIT, { included: april });
    expect(await hold(id, CREDIT, { included: april })).toMatchObject({ ok: false, code: "insufficient_credits" });
    const after = await expectInvariants(id);
    expect(after).toMatchObject({ included: 4 * CREDIT, held: 4 * CREDIT, available: 0 });
    expect(after.ledger).toMatchObject([{ reason: "included", reference: `plan:${id}:${april.periodStart}` }]);
  });
});

describe("claw-backs in the wallet", () => {
  it("take back a refunded pack up to its target once, never below zero nor what holds keep, recording the shortfall", async () => {
    const id = account();
    const session = `cs_test_${crypto.randomUUID()}`;
    await give(id, "purchased", 5 * CREDIT);
    const spent = await held(id, 2 * CREDIT);
    await settle(id, spent.reference, 2 * CREDIT);
    const open = await held(id, CREDIT);
    // 3 000 left, 1 000 of them kept by the open hold: 2 000 can be taken back of 5 000.
    expect(await walletStub(id).clawBack(id, session, 5 * CREDIT)).toEqual({
      requested: 5 * CREDIT,
      clawed: 2 * CREDIT,
      shortfall: 3 * CREDIT,
    });
    expect(await walletStub(id).clawBack(id, session, 5 * CREDIT)).toEqual({ requested: 0, clawed: 0, shortfall: 0 });
    expect(await expectInvariants(id)).toMatchObject({ purchased: CREDIT, held: CREDIT, available: 0 });
    await settle(id, open.reference, 0);
    // A larger refund of the same session later takes only the difference.
    expect(await walletStub(id).clawBack(id, session, 5_500)).toEqual({ requested: 500, clawed: 500, shortfall: 0 });
    const after = await expectInvariants(id);
    expect(after).toMatchObject({ purchased: 500, held: 0 });
    expect(after.ledger.filter((row) => row.reason === "refund")).toMatchObject([
      { amount: -2 * CREDIT, reference: `clawback:${session}:0` },
      { amount: -500, reference: `clawback:${session}:${5 * CREDIT}` },
    ]);
    // Nothing left to take: the whole request is the shortfall, and no row is written.
    const other = `cs_test_${crypto.randomUUID()}`;
    await settle(id, (await held(id, 500)).reference, 500);
    expect(await walletStub(id).clawBack(id, other, CREDIT)).toEqual({
      requested: CREDIT,
      clawed: 0,
      shortfall: CREDIT,
    });
    expect(await expectInvariants(id)).toMatchObject({ purchased: 0, included: 0 });
  });
});

describe("the wallet's invariants", () => {
  it("hold over random interleavings of holds, settlements, releases, grants and removals", async () => {
    const operation = fc.oneof(
      fc.record({ op: fc.constant("hold" as const), amount: fc.integer({ min: 1, max: 4_000 }) }),
      fc.record({ op: fc.constant("settle" as const), actual: fc.integer({ min: 0, max: 5_000 }) }),
      fc.record({ op: fc.constant("release" as const) }),
      fc.record({
        op: fc.constant("grant" as const),
        amount: fc.integer({ min: -3_000, max: 3_000 }).filter((amount) => amount !== 0),
        bucket: fc.constantFrom("included" as const, "purchased" as const),
      }),
    );
    let closed = 0;
    let refused = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.array(operation, { minLength: 1, maxLength: 6 }), { maxLength: 8 }),
        async (rounds) => {
          const id = account();
          await give(id, "purchased", 5_000);
          const open: HoldView[] = [];
          let granted = 5_000;
          let charged = 0;
          for (const round of rounds) {
            // Each round's operations run concurrently; a refusal is a value, anything thrown fails the run.
            await Promise.all(
              round.map(async (step) => {
                if (step.op === "hold") {
                  const answer = await hold(id, step.amount);
                  if (answer.ok === true && answer.hold) open.push(answer.hold);
                  else refused += 1;
                } else if (step.op === "grant") {
                  const answer = await give(id, step.bucket, step.amount);
                  if (answer.ok) granted += step.amount;
                  else expect(answer.code).toBe("insufficient_credits");
                } else {
                  const target = open.shift();
                  if (!target) return;
                  const answer = await settle(id, target.reference, step.op === "settle" ? step.actual : 0);
                  if (!answer.ok) throw new Error(`settlement refused: ${JSON.stringify(answer)}`);
                  expect(answer.charged).toBeLessThanOrEqual(target.amount);
                  charged += answer.charged;
                  closed += 1;
                }
              }),
            );
            const now = await expectInvariants(id);
            // Nothing is created or lost: what was granted is in the balances or was charged.
            expect(now.included + now.purchased).toBe(granted - charged);
            expect(now.held).toBe(open.reduce((sum, kept) => sum + kept.amount, 0));
          }
        },
      ),
      { numRuns: 25 },
    );
    // The runs did real work, not only refusals.
    expect(closed).toBeGreaterThan(10);
    expect(refused).toBeGreaterThan(0);
  }, 120_000);

  it("keeps its D1 copy append-only", async () => {
    const id = account();
    await give(id, "purchased", CREDIT);
    await drainWallet(id);
    await expect(
      env.DB.prepare("UPDATE credit_ledger SET amount = 1 WHERE account_id = ?").bind(id).run(),
    ).rejects.toThrow(/append-only/);
    await expect(env.DB.prepare("DELETE FROM credit_ledger WHERE account_id = ?").bind(id).run()).rejects.toThrow(
      /append-only/,
    );
  });
});

type LedgerItem = {
  seq: number | null;
  bucket: CreditBucket;
  amount: number;
  reason: string;
  reference: string;
  balanceAfter: number;
};

describe("GET /v1/credits and /v1/credits/ledger", () => {
  it("show the caller's balances and holds from the wallet, and its ledger from the copy, newest first, by page", async () => {
    const user = await registerUser();
    const id = user.user.id;
    await give(id, "included", 2 * CREDIT);
    testClock.advance(5);
    await give(id, "purchased", 3 * CREDIT);
    testClock.advance(5);
    const spent = await held(id, 1_500);
    await settle(id, spent.reference, 1_500);
    testClock.advance(5);
    await give(id, "purchased", CREDIT);
    testClock.advance(5);
    const open = await held(id, 2_500);
    const credits = await api("/v1/credits", { headers: as(user) });
    expect(credits.status).toBe(200);
    expect(credits.body).toEqual({
      accountId: id,
      balances: { included: 500, purchased: 4 * CREDIT },
      available: 2 * CREDIT,
      held: 2_500,
      holds: [
        {
          id: open.id,
          reference: open.reference,
          amount: 2_500,
          createdAt: new Date(open.createdAt).toISOString(),
          expiresAt: new Date(open.expiresAt).toISOString(),
        },
      ],
    });
    await drainWallet(id);
    const first = await api<{ items: LedgerItem[]; nextCursor: string }>("/v1/credits/ledger?limit=3", {
      headers: as(user),
    });
    expect(first.status).toBe(200);
    expect(first.body.items).toMatchObject([
      { bucket: "purchased", amount: CREDIT, reason: "test", balanceAfter: 4 * CREDIT },
      {
        bucket: "included",
        amount: -1_500,
        reason: "spend",
        reference: `spend:${spent.id}:included`,
        balanceAfter: 500,
      },
      { bucket: "purchased", amount: 3 * CREDIT, reason: "test", balanceAfter: 3 * CREDIT },
    ]);
    const second = await api<{ items: LedgerItem[]; nextCursor: string | null }>(
      `/v1/credits/ledger?limit=3&cursor=${first.body.nextCursor}`,
      { headers: as(user) },
    );
    expect(second.body.items).toMatchObject([
      { bucket: "included", amount: 2 * CREDIT, reason: "test", balanceAfter: 2 * CREDIT },
    ]);
    expect(second.body.nextCursor).toBeNull();
    const seqs = [...first.body.items, ...second.body.items].map((item) => item.seq);
    expect(seqs).toEqual((await walletLedger(id)).map((row) => row.seq).reverse());
    expectProblem(await api("/v1/credits/ledger?cursor=nonsense", { headers: as(user) }), 400, "validation_failed");
  });

  it("list entries written in the same millisecond in the wallet's order, newest first", async () => {
    const user = await registerUser();
    const id = user.user.id;
    testClock.freeze();
    await give(id, "included", 3 * CREDIT);
    await give(id, "purchased", 10 * CREDIT);
    // One settlement writes its included and its purchased rows at the same instant.
    for (let spend = 0; spend < 5; spend++) {
      const open = await held(id, 2 * CREDIT);
      await settle(id, open.reference, 2 * CREDIT);
    }
    await drainWallet(id);
    const page = await api<{ items: LedgerItem[] }>("/v1/credits/ledger?limit=100", { headers: as(user) });
    const ledger = await walletLedger(id);
    expect(page.body.items.map((item) => item.seq)).toEqual(ledger.map((row) => row.seq).reverse());
  });

  it("show an org's credits and ledger to its members, and 404 to anyone else", async () => {
    const cast = await roleMatrix();
    const { org } = cast;
    const stranger = await registerUser();
    await give(org.id, "purchased", 7 * CREDIT);
    await drainWallet(org.id);
    const inOrg = (user: Registered, path: string) => api(path, { headers: { ...as(user), "x-stratus-org": org.id } });
    const shown = await expectMatrix(cast, { path: "/v1/credits" }, MEMBERS_WITHOUT_KEYS);
    expect(shown.member.body).toMatchObject({ accountId: org.id, available: 7 * CREDIT });
    expect(shown.owner.body).toEqual(shown.member.body);
    const ledgers = await expectMatrix(cast, { path: "/v1/credits/ledger" }, MEMBERS_WITHOUT_KEYS);
    expect(ledgers.member.body).toMatchObject({ items: [{ amount: 7 * CREDIT, balanceAfter: 7 * CREDIT }] });
    expect(ledgers.owner.body).toEqual(ledgers.member.body);
    expectProblem(await inOrg(stranger, "/v1/credits"), 404, "not_found");
    expectProblem(await inOrg(stranger, "/v1/credits/ledger"), 404, "not_found");
    expect((await api("/v1/credits", { headers: as(stranger) })).body).toMatchObject({ available: 0 });
    expect((await api("/v1/credits/ledger", { headers: as(stranger) })).body).toEqual({ items: [], nextCursor: null });
  });
});

describe("POST /v1/admin/credits/adjust", () => {
  const adjust = (by: Registered, json: unknown) => api("/v1/admin/credits/adjust", { json, headers: as(by) });

  it("adds or removes credits for a platform admin in the wallet, audited, and never below zero nor what holds keep", async () => {
    const admin = await platformAdmin();
    const user = await registerUser();
    const id = user.user.id;
    const added = await adjust(admin, { accountId: id, amount: 4 * CREDIT, reason: "goodwill" });
    expect(added.status).toBe(201);
    expect(added.body).toMatchObject({
      entry: { bucket: "purchased", amount: 4 * CREDIT, reason: "adjust", balanceAfter: 4 * CREDIT },
      credits: { accountId: id, balances: { included: 0, purchased: 4 * CREDIT }, available: 4 * CREDIT },
    });
    const entry = (added.body as { entry: { reference: string; seq: number } }).entry;
    expectProblem(await adjust(admin, { accountId: id, amount: -5 * CREDIT, reason: "oops" }), 409, "conflict");
    // What an open hold keeps cannot be taken either.
    const open = await held(id, 3 * CREDIT);
    expectProblem(await adjust(admin, { accountId: id, amount: -2 * CREDIT, reason: "oops" }), 409, "conflict");
    await settle(id, open.reference, 0);
    const included = await adjust(admin, { accountId: id, amount: CREDIT, bucket: "included", reason: "trial" });
    expect(included.status).toBe(201);
    expect(included.body).toMatchObject({ entry: { bucket: "included", amount: CREDIT, balanceAfter: CREDIT } });
    const after = await expectInvariants(id);
    expect(after).toMatchObject({ purchased: 4 * CREDIT, included: CREDIT });
    expect(after.ledger.find((row) => row.reference === entry.reference)).toMatchObject({
      seq: entry.seq,
      reason: "adjust",
      amount: 4 * CREDIT,
    });
    const audit = await env.DB.prepare(
      "SELECT details FROM audit_log WHERE action = 'admin.credits_adjusted' AND target_id = ? ORDER BY created_at",
    )
      .bind(id)
      .all<{ details: string }>();
    const details = audit.results.map((row) => JSON.parse(row.details));
    expect(details.map((detail) => detail.reason)).toEqual(["goodwill", "trial"]);
    expect(details[0]).toMatchObject({ amount: 4 * CREDIT, bucket: "purchased", reference: entry.reference });
  });

  it("is for platform admins only, validates its body and 404s an unknown account", async () => {
    const admin = await platformAdmin();
    const user = await registerUser();
    expectProblem(await adjust(user, { accountId: user.user.id, amount: CREDIT, reason: "me" }), 403, "forbidden");
    for (const json of [
      { accountId: user.user.id, amount: 0, reason: "zero" },
      { accountId: user.user.id, amount: 1.5, reason: "fraction" },
      { accountId: "nobody", amount: 1, reason: "bad id" },
      { accountId: user.user.id, amount: 1, reason: "" },
      { accountId: user.user.id, amount: 1, reason: "x", bucket: "gold" },
      { accountId: user.user.id, amount: 1, reason: "x", extra: true },
    ]) {
      expectProblem(await adjust(admin, json), 400, "validation_failed");
    }
    expectProblem(await adjust(admin, { accountId: account(), amount: CREDIT, reason: "ghost" }), 404, "not_found");
    expect(await expectInvariants(user.user.id)).toMatchObject({ included: 0, purchased: 0 });
    expect(
      await env.DB.prepare(
        "SELECT count(*) AS n FROM audit_log WHERE action = 'admin.credits_adjusted' AND target_id = ?",
      )
        .bind(user.user.id)
        .first("n"),
    ).toBe(0);
  });
});
