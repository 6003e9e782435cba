import {
  createExecutionContext,
  createMessageBatch,
  env,
  evictDurableObject,
  getQueueResult,
  runDurableObjectAlarm,
  runInDurableObject,
  waitOnExecutionContext,
} from "cloudflare:test";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { withHold } from "../../../src/modules/billing/api";
import { settleLaterTask } from "../../../src/modules/billing/credits/settle-later";
import { applyCopyMessages, consumeWalletCopies } from "../../../src/modules/billing/wallet/copy";
import { markSent, nextMessage, RESEND_AFTER_MS } from "../../../src/modules/billing/wallet/outbox";
import type { CopyMessage } from "../../../src/modules/billing/wallet/protocol";
import { periodOf } from "../../../src/modules/plans/quotas";
import { clock, HOUR_MS, testClock } from "../../../src/platform/clock";
import { countingEnv, IoCounter } from "../../../src/platform/io-count";
import { createLogger } from "../../../src/platform/logger";
import { fund } from "../../helpers/ai";
import { api, expectProblem } from "../../helpers/client";
import { as, platformAdmin, registerUser } from "../../helpers/identity";
import { runtimeOf } from "../../helpers/runtime";
import { usageRecordOf, walletRows, walletStub } from "../../helpers/wallet";

/**
 * The wallet's D1 copy (billing/wallet: `outbox.ts`, the alarm and `flush` of `object.ts`, the
 * consumer of `copy.ts`): every row a wallet writes reaches D1 once, whatever order and however
 * often the queue delivers it; the wallet forgets a row only once the copy confirmed it, and
 * sends again what the copy misses.
 *
 * A wallet's alarm ships its outbox 2 s (real time) after a write. Each test moves the clock an
 * hour ahead, so the alarms the wallets set fall after the test: messages are shipped by hand
 * (`ship`, what the alarm does without the queue), or by `flush` and `runDurableObjectAlarm`
 * when a test wants the real queue and consumer.
 */

beforeEach(() => testClock.advance(HOUR_MS));
afterEach(() => {
  testClock.reset();
  vi.restoreAllMocks();
});

type RowsMessage = Extract<CopyMessage, { type: "rows" }>;

const account = () => `usr_copy${crypto.randomUUID().replaceAll("-", "").slice(0, 18)}`;

/** The wallet's next message of unsent rows, marked sent, as its alarm ships it (here, to the test). */
const ship = (accountId: string) =>
  runInDurableObject(walletStub(accountId), (_instance, state) => {
    const message = nextMessage(state.storage.sql, accountId);
    if (message) markSent(state.storage.sql, message, clock.now());
    return message;
  });

/** Every message of what the wallet has not shipped yet. */
async function shipAll(accountId: string): Promise<RowsMessage[]> {
  const messages: RowsMessage[] = [];
  for (let message = await ship(accountId); message; message = await ship(accountId)) messages.push(message);
  return messages;
}

/** What waits in the wallet's outbox for the copy's confirmation. */
const outboxOf = (accountId: string) =>
  walletRows<{ seq: number; kind: string; sent_at: number | null }>(
    accountId,
    "SELECT seq, kind, sent_at FROM outbox ORDER BY seq",
  );

/** The last sequence number the wallet gave. */
const lastSeqOf = async (accountId: string) =>
  (await walletRows<{ seq: number }>(accountId, "SELECT next_seq - 1 AS seq FROM state"))[0]?.seq ?? 0;

const LEDGER_COLUMNS = "seq, id, bucket, amount, reason, reference, balance_after, created_at";

const walletLedger = (accountId: string) =>
  walletRows<Record<string, SqlStorageValue>>(accountId, `SELECT ${LEDGER_COLUMNS} FROM ledger ORDER BY seq`);

const copiedLedger = async (accountId: string) =>
  (
    await env.DB.prepare(
      `SELECT ${LEDGER_COLUMNS} FROM credit_ledger WHERE account_id = ? AND seq IS NOT NULL ORDER BY seq`,
    )
      .bind(accountId)
      .all()
  ).results;

type Copy = {
  through: number;
  checkpoint_seq: number;
  checkpoint_included: number;
  checkpoint_purchased: number;
  verified_seq: number;
  gaps: number;
  mismatches: number;
};

const copyOf = (accountId: string) =>
  env.DB.prepare(
    `SELECT through, checkpoint_seq, checkpoint_included, checkpoint_purchased, verified_seq, gaps, mismatches
     FROM wallet_copies WHERE account_id = ?`,
  )
    .bind(accountId)
    .first<Copy>();

const rangesOf = async (accountId: string) =>
  (
    await env.DB.prepare("SELECT first_seq, last_seq FROM wallet_copy_ranges WHERE account_id = ?")
      .bind(accountId)
      .all()
  ).results;

const copiedCounters = async (accountId: string) =>
  (
    await env.DB.prepare(
      "SELECT metric, period_start, used, limit_value, seq FROM wallet_counter_copies WHERE account_id = ?",
    )
      .bind(accountId)
      .all()
  ).results;

const copiedUsage = async (accountId: string) =>
  (
    await env.DB.prepare("SELECT id, charged, status FROM ai_usage WHERE account_id = ? ORDER BY id")
      .bind(accountId)
      .all<{ id: string; charged: number; status: string }>()
  ).results;

/** Spends `cost` the way modules do (`withHold`), settled with its usage row. */
async function spend(accountId: string, cost: number) {
  const ctx = createExecutionContext();
  const usage = usageRecordOf(accountId, cost);
  const { charged } = await withHold(
    { ...runtimeOf(), waitUntil: (promise) => ctx.waitUntil(promise) },
    {
      payer: { accountId },
      reference: `test:${crypto.randomUUID()}`,
      ceiling: cost,
      run: async () => null,
      measure: () => ({ cost, records: [usage] }),
    },
  );
  await waitOnExecutionContext(ctx);
  return { charged, usageId: usage.id };
}

const PERIOD = periodOf("translated_characters").start;

/** Counts translated characters in the wallet's counter (a take of no credits). */
async function count(accountId: string, amount: number) {
  const answer = await walletStub(accountId).hold({
    accountId,
    reference: `count:${crypto.randomUUID()}`,
    amount: 0,
    expiresAt: clock.now() + HOUR_MS,
    counter: { metric: "translated_characters", amount, limit: 1_000_000, periodStart: PERIOD, resetsAt: null },
  });
  if (!answer.ok) throw new Error(`not counted: ${answer.detail}`);
}

/**
 * The whole copy of the account, as the wallet has it: its ledger row for row (with `seq` and
 * `balance_after`), its counters at their latest change, the copy contiguous through the last
 * row and verified there, no run left waiting, and the wallet's outbox empty (all confirmed).
 */
async function expectCopied(accountId: string, lastCounterSeq?: number) {
  const last = await lastSeqOf(accountId);
  expect(await copiedLedger(accountId)).toEqual(await walletLedger(accountId));
  const counters = await walletRows<Record<string, SqlStorageValue>>(
    accountId,
    "SELECT metric, period_start, used, limit_value FROM counters",
  );
  expect(await copiedCounters(accountId)).toEqual(
    counters.map((counter) => ({ ...counter, seq: lastCounterSeq ?? expect.any(Number) })),
  );
  expect(await copyOf(accountId)).toMatchObject({
    through: last,
    checkpoint_seq: last,
    verified_seq: last,
    mismatches: 0,
  });
  expect(await rangesOf(accountId)).toEqual([]);
  expect(await outboxOf(accountId)).toEqual([]);
}

/** The seq of the last counter row among messages. */
const lastCounterSeqOf = (messages: RowsMessage[]) =>
  Math.max(
    ...messages.flatMap((message) => message.rows.filter((row) => row.kind === "counter").map((row) => row.seq)),
  );

describe("the wallet copy consumer", () => {
  it("ends with the same copy whatever the order and repeats of its messages (3, 1, 2, 1, 3)", async () => {
    const id = account();
    await fund(id, 10_000);
    await count(id, 300);
    const first = await ship(id);
    const spent = await spend(id, 1_250);
    await count(id, 200);
    const second = await ship(id);
    await walletStub(id).grant({
      accountId: id,
      bucket: "included",
      amount: 2_000,
      reason: "test",
      reference: `g:${id}`,
    });
    const included = await spend(id, 500);
    await count(id, 50);
    const third = await ship(id);
    if (!first || !second || !third) throw new Error("nothing shipped");
    // Three contiguous runs, as the alarm would have shipped them.
    expect(first.rows[0]?.seq).toBe(1);
    expect(second.rows[0]?.seq).toBe(first.checkpoint.seq + 1);
    expect(third.rows[0]?.seq).toBe(second.checkpoint.seq + 1);
    expect(third.checkpoint.seq).toBe(await lastSeqOf(id));

    // The last run first: kept aside, nothing confirmed (the copy does not reach it yet).
    expect(await applyCopyMessages(runtimeOf(), [third])).toBe(1);
    expect(await copyOf(id)).toMatchObject({ through: 0, gaps: 0 });
    expect(await rangesOf(id)).toEqual([{ first_seq: third.rows[0]?.seq, last_seq: third.checkpoint.seq }]);
    expect(await outboxOf(id)).toHaveLength(third.checkpoint.seq);
    // The first run: the copy is contiguous through it, and the wallet forgets it.
    await applyCopyMessages(runtimeOf(), [first]);
    expect(await copyOf(id)).toMatchObject({ through: first.checkpoint.seq });
    expect((await outboxOf(id))[0]?.seq).toBe(first.checkpoint.seq + 1);
    // The second fills the gap up to the third; repeats change nothing.
    await applyCopyMessages(runtimeOf(), [second]);
    await applyCopyMessages(runtimeOf(), [first]);
    await applyCopyMessages(runtimeOf(), [third]);

    await expectCopied(id, lastCounterSeqOf([first, second, third]));
    expect(await copyOf(id)).toMatchObject({
      gaps: 0,
      checkpoint_included: 2_000 - 500,
      checkpoint_purchased: 10_000 - 1_250,
    });
    expect(await copiedCounters(id)).toMatchObject([{ metric: "translated_characters", used: 550 }]);
    expect(await copiedUsage(id)).toEqual(
      [
        { id: spent.usageId, charged: 1_250, status: "completed" },
        { id: included.usageId, charged: 500, status: "completed" },
      ].sort((a, b) => a.id.localeCompare(b.id)),
    );
    // What the copy says the account has is what the wallet says (included spent first).
    const ledger = await copiedLedger(id);
    expect(ledger.filter((row) => row.reason === "spend")).toMatchObject([
      { bucket: "purchased", amount: -1_250 },
      { bucket: "included", amount: -500 },
    ]);
    expect(await walletStub(id).balance(id)).toMatchObject({ balances: { included: 1_500, purchased: 8_750 } });
  });

  it("copies the same messages in one batch, out of order and repeated, to the same copy", async () => {
    const id = account();
    await fund(id, 4_000);
    await count(id, 10);
    const first = await ship(id);
    await spend(id, 700);
    const second = await ship(id);
    await count(id, 5);
    await spend(id, 300);
    const third = await ship(id);
    if (!first || !second || !third) throw new Error("nothing shipped");
    await applyCopyMessages(runtimeOf(), [third, first, second, first, third]);
    await expectCopied(id, lastCounterSeqOf([first, second, third]));
    expect(await copiedCounters(id)).toMatchObject([{ used: 15 }]);
    expect(await copiedUsage(id)).toHaveLength(2);
  });

  it("copies the rows of two wallets that used the same reference, each in its own account", async () => {
    const [first, second] = [account(), account()];
    const reference = `stripe:evt_${crypto.randomUUID()}`;
    for (const [id, amount] of [
      [first, 1_000],
      [second, 2_000],
    ] as const) {
      await walletStub(id).grant({ accountId: id, bucket: "purchased", amount, reason: "test", reference });
    }
    await applyCopyMessages(runtimeOf(), [...(await shipAll(first)), ...(await shipAll(second))]);
    await expectCopied(first);
    await expectCopied(second);
    expect(await copiedLedger(second)).toMatchObject([{ reference, amount: 2_000 }]);
  });

  it("asks the wallet to send again from a gap that lasted 10 s, and the wallet does", async () => {
    const id = account();
    await fund(id, 1_000);
    const first = await ship(id);
    await fund(id, 2_000);
    await spend(id, 400);
    const second = await ship(id);
    if (!first || !second) throw new Error("nothing shipped");
    const sentAll = (await outboxOf(id)).every((row) => row.sent_at !== null);
    expect(sentAll).toBe(true);

    // The first message is late: the second waits for it, without asking for anything yet.
    await applyCopyMessages(runtimeOf(), [second]);
    testClock.advance(9_000);
    await applyCopyMessages(runtimeOf(), [second]);
    expect(await copyOf(id)).toMatchObject({ through: 0, gaps: 0 });
    expect((await outboxOf(id)).every((row) => row.sent_at !== null)).toBe(true);

    // Past 10 s it is lost, not late: the wallet is told to send everything from it again.
    testClock.advance(1_001);
    await applyCopyMessages(runtimeOf(), [second]);
    expect(await copyOf(id)).toMatchObject({ through: 0, gaps: 1 });
    const outbox = await outboxOf(id);
    expect(outbox.map((row) => row.seq)).toEqual(
      Array.from({ length: second.checkpoint.seq }, (_, index) => index + 1),
    );
    expect(outbox.every((row) => row.sent_at === null)).toBe(true);

    // The wallet sends it again, through the real queue and consumer.
    expect(await walletStub(id).flush()).toBeGreaterThanOrEqual(1);
    await expect.poll(async () => (await copyOf(id))?.through, { timeout: 10_000 }).toBe(second.checkpoint.seq);
    await expect.poll(() => outboxOf(id), { timeout: 10_000 }).toEqual([]);
    await expectCopied(id);
    expect(await copyOf(id)).toMatchObject({ gaps: 1 });
  });

  it("counts a checkpoint that the copied rows do not match as a mismatch, logged, once", async () => {
    const id = account();
    await fund(id, 3_000);
    await spend(id, 1_000);
    const message = await ship(id);
    if (!message) throw new Error("nothing shipped");
    const { seq, balances } = message.checkpoint;
    expect(balances).toEqual({ included: 0, purchased: 2_000 });
    const wrong: RowsMessage = { ...message, checkpoint: { seq, balances: { ...balances, purchased: 2_001 } } };
    const logger = createLogger("error");
    const logged = vi.spyOn(logger, "error").mockImplementation(() => {});

    await applyCopyMessages(runtimeOf(env, logger), [wrong]);
    expect(await copyOf(id)).toMatchObject({ through: seq, checkpoint_seq: seq, verified_seq: seq, mismatches: 1 });
    expect(logged).toHaveBeenCalledWith(
      "wallet copy does not match its checkpoint",
      expect.objectContaining({ accountId: id, seq, copied: { included: 0, purchased: 2_000 } }),
    );
    // The rows themselves were copied, and confirmed: the wallet's ledger is what the copy holds.
    expect(await copiedLedger(id)).toEqual(await walletLedger(id));
    // A checkpoint verified once is not counted again.
    await applyCopyMessages(runtimeOf(env, logger), [wrong]);
    expect(await copyOf(id)).toMatchObject({ mismatches: 1 });

    // A right checkpoint is no mismatch.
    const other = account();
    await fund(other, 3_000);
    await applyCopyMessages(runtimeOf(env, logger), await shipAll(other));
    expect(await copyOf(other)).toMatchObject({ mismatches: 0, verified_seq: 1 });

    // Platform admins see it, and only they.
    const health = await api<{ mismatches: number; attention: { accountId: string; mismatches: number }[] }>(
      "/v1/admin/wallet-copies",
      { headers: as(await platformAdmin()) },
    );
    expect(health.status).toBe(200);
    expect(health.body.mismatches).toBeGreaterThanOrEqual(1);
    expect(health.body.attention).toContainEqual(expect.objectContaining({ accountId: id, mismatches: 1 }));
    expect(health.body.attention.map((row) => row.accountId)).not.toContain(other);
    expectProblem(await api("/v1/admin/wallet-copies", { headers: as(await registerUser()) }), 403, "forbidden");
  });

  it("refuses a malformed message (logged) without failing the others of its batch", async () => {
    const id = account();
    await fund(id, 3_000);
    const [good] = await shipAll(id);
    if (!good) throw new Error("nothing shipped");
    const logger = createLogger("error");
    const logged = vi.spyOn(logger, "error").mockImplementation(() => {});
    const malformed: unknown[] = [
      "not a message",
      null,
      { type: "rows", accountId: id, rows: [], checkpoint: good.checkpoint },
      { ...good, rows: [{ ...good.rows[0], seq: -1 }] },
      { ...good, checkpoint: { seq: good.checkpoint.seq } },
      { type: "shipment", accountId: id },
    ];
    expect(await applyCopyMessages(runtimeOf(env, logger), [...malformed, good])).toBe(1);
    expect(logged.mock.calls.filter(([message]) => message === "copy message refused")).toHaveLength(malformed.length);
    await expectCopied(id);

    // As the queue's consumer: the batch is acknowledged, nothing retried.
    const other = account();
    await fund(other, 1_000);
    const messages = [...malformed, ...(await shipAll(other))];
    const batch = createMessageBatch(
      "stratus-wallet-copy",
      messages.map((body, index) => ({ id: `m${index}`, timestamp: clock.now(), attempts: 1, body })),
    );
    const ctx = createExecutionContext();
    await consumeWalletCopies(batch, runtimeOf(env, logger));
    expect(await getQueueResult(batch, ctx)).toMatchObject({ ackAll: true, retryBatch: { retry: false } });
    await expectCopied(other);
  });

  it("refuses a record its sink cannot take without failing the other messages of its batch", async () => {
    const id = account();
    await fund(id, 2_000);
    const rows = await shipAll(id);
    // Another wallet's run whose usage row lacks its tokens, model and status: the sink cannot write it, ever.
    const poisoned: CopyMessage = {
      type: "rows",
      accountId: account(),
      rows: [
        {
          seq: 1,
          kind: "record",
          body: {
            sink: "ai.usage",
            id: `req_${crypto.randomUUID()}`,
            charged: 0,
            body: { endpoint: 42 },
            createdAt: 0,
          },
        },
      ],
      checkpoint: { seq: 1, balances: { included: 0, purchased: 0 } },
    };
    const logger = createLogger("error");
    vi.spyOn(logger, "error").mockImplementation(() => {});
    const batch = createMessageBatch(
      "stratus-wallet-copy",
      [poisoned, ...rows].map((body, index) => ({ id: `m${index}`, timestamp: clock.now(), attempts: 1, body })),
    );
    const ctx = createExecutionContext();
    await consumeWalletCopies(batch, runtimeOf(env, logger));
    // Retrying the batch would fail the same way every time, and the good rows with it.
    expect(await getQueueResult(batch, ctx)).toMatchObject({ ackAll: true, retryBatch: { retry: false } });
    await expectCopied(id);
    expect(await copiedUsage(id)).toEqual([]);
  });

  it("settles what the wallet could not take when the work ended through the queue task, once", async () => {
    const id = account();
    await fund(id, 5_000);
    const reference = `later:${crypto.randomUUID()}`;
    const held = await walletStub(id).hold({
      accountId: id,
      reference,
      amount: 1_000,
      expiresAt: clock.now() + HOUR_MS,
    });
    expect(held.ok).toBe(true);
    const usage = usageRecordOf(id, 700);
    const later = { accountId: id, reference, actual: 700, records: [usage], keepCount: true, counted: false };
    const context = {
      ...runtimeOf(),
      taskId: "task_later",
      reference: `billing.settle-later:${id}:${reference}`,
      attempt: 1,
    };
    await settleLaterTask.handle(later, context);
    await settleLaterTask.handle(later, { ...context, attempt: 2 });
    await applyCopyMessages(runtimeOf(), await shipAll(id));
    expect(await copiedUsage(id)).toEqual([{ id: usage.id, charged: 700, status: "completed" }]);
    const spent = await walletRows<{ total: number }>(
      id,
      "SELECT -sum(amount) AS total FROM ledger WHERE reason = 'spend'",
    );
    expect(spent).toEqual([{ total: 700 }]);
  });

  it("writes a batch of 100 messages of 3 wallets, in reverse order, in a few D1 statements", async () => {
    const ids = [account(), account(), account()];
    const messages: RowsMessage[] = [];
    for (let index = 0; index < 100; index++) {
      const id = ids[index % 3] as string;
      const step = Math.floor(index / 3) % 3;
      if (step === 0) await fund(id, 1_000);
      else if (step === 1) await count(id, 10);
      else await spend(id, 100);
      const message = await ship(id);
      if (!message) throw new Error("nothing shipped");
      messages.push(message);
    }
    const counter = new IoCounter();
    await applyCopyMessages(runtimeOf(countingEnv(env, counter)), messages.toReversed());
    const { d1 } = counter.snapshot();
    expect(d1).toBeLessThanOrEqual(12);
    for (const id of ids) {
      await expectCopied(id, lastCounterSeqOf(messages.filter((message) => message.accountId === id)));
      expect((await copiedUsage(id)).length).toBeGreaterThanOrEqual(10);
    }
  });

  it("writes a batch of 50 wallets' messages in a few D1 statements too, whatever the number of wallets", async () => {
    const ids = Array.from({ length: 50 }, account);
    const messages: RowsMessage[] = [];
    for (const id of ids) {
      await fund(id, 1_000);
      messages.push(...(await shipAll(id)));
    }
    const counter = new IoCounter();
    expect(await applyCopyMessages(runtimeOf(countingEnv(env, counter)), messages)).toBe(50);
    expect(counter.snapshot().d1).toBeLessThanOrEqual(12);
    for (const id of ids) await expectCopied(id);
  });

  it("copies 50 spends in at most 0.2 D1 statements a spend", async () => {
    const id = account();
    await fund(id, 100_000);
    for (let index = 0; index < 50; index++) await spend(id, 100 + index);
    const messages = await shipAll(id);
    const counter = new IoCounter();
    await applyCopyMessages(runtimeOf(countingEnv(env, counter)), messages);
    expect(counter.snapshot().d1 / 50).toBeLessThanOrEqual(0.2);
    await expectCopied(id);
    expect(await copiedUsage(id)).toHaveLength(50);
    const spent = (await copiedLedger(id)).filter((row) => row.reason === "spend");
    expect(spent.reduce((sum, row) => sum + Number(row.amount), 0)).toBe(-(50 * 100 + (49 * 50) / 2));
  });
});

describe("shipping to the copy", () => {
  it("delivers a spend end to end: flush, queue, consumer, D1; the wallet forgets its rows only once confirmed", async () => {
    const id = account();
    await fund(id, 10_000);
    const { charged, usageId } = await spend(id, 1_234);
    expect(charged).toBe(1_234);
    const last = await lastSeqOf(id);
    expect(await walletStub(id).flush()).toBe(1);
    // Shipped, not confirmed: still in the outbox (the consumer has not run yet).
    const shipped = await outboxOf(id);
    expect(shipped.map((row) => row.kind)).toEqual(["ledger", "ledger", "record"]);
    expect(shipped.every((row) => row.sent_at !== null)).toBe(true);
    expect(await walletStub(id).flush()).toBe(0);

    await expect.poll(async () => (await copyOf(id))?.through, { timeout: 10_000 }).toBe(last);
    await expect.poll(() => outboxOf(id), { timeout: 10_000 }).toEqual([]);
    await expectCopied(id);
    expect(await copiedLedger(id)).toMatchObject([
      { reason: "test", amount: 10_000, balance_after: 10_000 },
      { reason: "spend", amount: -1_234, balance_after: 10_000 - 1_234 },
    ]);
    expect(await copiedUsage(id)).toEqual([{ id: usageId, charged: 1_234, status: "completed" }]);
  });

  it("delivers what its alarm ships", async () => {
    const id = account();
    await fund(id, 5_000);
    await spend(id, 250);
    const last = await lastSeqOf(id);
    expect(await runDurableObjectAlarm(walletStub(id))).toBe(true);
    await expect.poll(async () => (await copyOf(id))?.through, { timeout: 10_000 }).toBe(last);
    await expect.poll(() => outboxOf(id), { timeout: 10_000 }).toEqual([]);
    await expectCopied(id);
  });

  it("sends a message lost on its way again, by its alarm, though nothing else happens in the wallet", async () => {
    const id = account();
    await fund(id, 5_000);
    // The queue loses what this wallet's alarm ships now.
    await runInDurableObject(walletStub(id), (instance) => {
      const bindings = (instance as unknown as { env: Env }).env;
      const lost = { send: async () => {} } as unknown as Queue;
      Object.defineProperty(instance, "env", { value: { ...bindings, WALLET_COPY: lost }, configurable: true });
    });
    expect(await runDurableObjectAlarm(walletStub(id))).toBe(true);
    expect(await outboxOf(id)).toEqual([{ seq: 1, kind: "ledger", sent_at: expect.any(Number) }]);
    // A new instance has the real queue again; no confirmation ever comes for the lost message.
    await evictDurableObject(walletStub(id));
    testClock.advance(RESEND_AFTER_MS);
    expect(await runDurableObjectAlarm(walletStub(id))).toBe(true);
    await expect.poll(async () => (await copyOf(id))?.through, { timeout: 10_000 }).toBe(1);
    await expect.poll(() => outboxOf(id), { timeout: 10_000 }).toEqual([]);
    await expectCopied(id);
  });
});
