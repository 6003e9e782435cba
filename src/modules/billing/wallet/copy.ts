import { inArray } from "drizzle-orm";
import { clock } from "../../../platform/clock";
import type { Runtime } from "../../../platform/context";
import { type BatchStatement, database, insertJsonRows, jsonChunks } from "../../../platform/db";
import { describeError } from "../../../platform/logger";
import { port } from "../../../platform/port";
import { creditLedger, walletCopies, walletCopyRanges } from "../tables";
import { walletOf } from "./client";
import { CopyMessage, type ShippedRow } from "./protocol";

/**
 * The copy consumer: wallets' rows into D1, the reporting copy (ARCHITECTURE.md, Money). A
 * queue batch is written in one D1 batch of a few statements, whatever the number of wallets
 * and rows in it: ledger rows keyed `(account, seq)` with the wallet's own `balance_after`,
 * counters (the latest `seq` wins), and records handed to the sinks of the modules that own
 * them. Queues neither order nor deliver once, so every write ignores what is already there;
 * then each wallet's copy advances over the runs now contiguous, its checkpoint is verified,
 * and the wallet is told what it may forget (or, past a lasting gap, what to send again).
 */

/** A record as its sink gets it. */
export type CopiedRecord = {
  accountId: string;
  id: string;
  charged: number;
  body: Record<string, unknown>;
  createdAt: number;
};

/** Turns records of one kind into statements of the copy's batch; each must ignore a record it already has. */
export type RecordSink = (env: Env, records: CopiedRecord[]) => BatchStatement[];

/** The sinks of other modules' records (ai's usage rows), by kind, wired by the composition root. */
export const walletRecordSinksPort = port<Readonly<Record<string, RecordSink>>>("the wallet's record sinks");

/** A gap older than this is not a reordering any more: the wallet sends from it again. */
const GAP_PATIENCE_MS = 10_000;

/**
 * The sinks' statements for the batch's records. A record its sink refuses (or of a kind
 * nobody sinks) is logged and left out, never a reason to hold back the rest of the batch.
 */
function sinkStatements(runtime: Runtime, records: Map<string, CopiedRecord[]>): BatchStatement[] {
  const sinks = walletRecordSinksPort.get();
  return [...records].flatMap(([kind, list]) => {
    const sink = sinks[kind];
    const refuse = (refused: CopiedRecord[], error: unknown) => {
      runtime.logger.error("wallet records refused by their sink", {
        kind,
        ids: refused.map((record) => record.id).slice(0, 10),
        ...describeError(error),
      });
      return [];
    };
    if (!sink) return refuse(list, new Error("no sink for this kind"));
    try {
      return sink(runtime.env, list);
    } catch {
      // Find the records at fault: the others still go in.
      return list.flatMap((record) => {
        try {
          return sink(runtime.env, [record]);
        } catch (error) {
          return refuse([record], error);
        }
      });
    }
  });
}

function statementsOf(runtime: Runtime, messages: CopyMessage[], now: number): BatchStatement[] {
  const { env } = runtime;
  const ledger: object[] = [];
  const counters: object[] = [];
  const records = new Map<string, CopiedRecord[]>();
  const ranges: object[] = [];
  const addRecord = (sink: string, record: CopiedRecord) => records.set(sink, [...(records.get(sink) ?? []), record]);
  for (const message of messages) {
    const { accountId, rows } = message;
    ranges.push({ accountId, firstSeq: rows[0]?.seq, lastSeq: message.checkpoint.seq, receivedAt: now });
    for (const row of rows) shipped(row, accountId, { ledger, counters, addRecord });
  }
  const statements = sinkStatements(runtime, records);
  statements.push(...insertJsonRows(env, creditLedger, ledger));
  const counterUpsert = env.DB.prepare(
    `INSERT INTO wallet_counter_copies (account_id, metric, period_start, used, limit_value, seq)
     SELECT value ->> '$.accountId', value ->> '$.metric', value ->> '$.periodStart', value ->> '$.used',
       value ->> '$.limit', value ->> '$.seq' FROM json_each(?) WHERE true
     ON CONFLICT (account_id, metric, period_start) DO UPDATE SET used = excluded.used,
       limit_value = excluded.limit_value, seq = excluded.seq WHERE excluded.seq > wallet_counter_copies.seq`,
  );
  statements.push(...jsonChunks(counters).map((chunk) => counterUpsert.bind(chunk)));
  statements.push(...insertJsonRows(env, walletCopyRanges, ranges));
  return statements;
}

function shipped(
  row: ShippedRow,
  accountId: string,
  into: { ledger: object[]; counters: object[]; addRecord: (sink: string, record: CopiedRecord) => void },
) {
  if (row.kind === "ledger") into.ledger.push({ ...row.body, accountId, seq: row.seq });
  else if (row.kind === "counter") into.counters.push({ ...row.body, accountId, seq: row.seq });
  else {
    const { sink, ...record } = row.body;
    into.addRecord(sink, { ...record, accountId });
  }
}

type Copy = typeof walletCopies.$inferSelect;

/** Each wallet's copy after this batch: how far it is contiguous, and whether a gap has lasted. */
async function advance(env: Env, messages: CopyMessage[], now: number) {
  const accountIds = [...new Set(messages.map((message) => message.accountId))];
  const db = database(env);
  const [copies, ranges] = await Promise.all([
    db.select().from(walletCopies).where(inArray(walletCopies.accountId, accountIds)),
    db.select().from(walletCopyRanges).where(inArray(walletCopyRanges.accountId, accountIds)),
  ]);
  return accountIds.map((accountId) => {
    const copy: Copy = copies.find((row) => row.accountId === accountId) ?? {
      accountId,
      through: 0,
      checkpointSeq: 0,
      checkpointIncluded: 0,
      checkpointPurchased: 0,
      verifiedSeq: 0,
      gaps: 0,
      mismatches: 0,
      updatedAt: now,
      deletedAt: null,
    };
    const own = ranges.filter((range) => range.accountId === accountId).sort((a, b) => a.firstSeq - b.firstSeq);
    let through = copy.through;
    for (const range of own) if (range.firstSeq <= through + 1) through = Math.max(through, range.lastSeq);
    const waiting = own.filter((range) => range.lastSeq > through);
    const lastingGap = waiting.some((range) => range.receivedAt <= now - GAP_PATIENCE_MS);
    const latest = messages
      .filter((message) => message.accountId === accountId)
      .reduce((best, message) => (message.checkpoint.seq > best.seq ? message.checkpoint : best), {
        seq: copy.checkpointSeq,
        balances: { included: copy.checkpointIncluded, purchased: copy.checkpointPurchased },
      });
    return {
      ...copy,
      through,
      checkpointSeq: latest.seq,
      checkpointIncluded: latest.balances.included,
      checkpointPurchased: latest.balances.purchased,
      gaps: copy.gaps + (lastingGap ? 1 : 0),
      updatedAt: now,
      resendFrom: lastingGap ? through + 1 : null,
    };
  });
}

/** The copy's balances after each checkpoint's row: each bucket's last copied ledger row at or before it, in one query. */
async function copiedBalancesAt(env: Env, checkpoints: { accountId: string; seq: number }[]) {
  const { results } = await env.DB.prepare(
    `SELECT checkpoint.value ->> '$.accountId' AS account_id, bucket.name AS bucket,
       (SELECT balance_after FROM credit_ledger WHERE account_id = checkpoint.value ->> '$.accountId'
          AND bucket = bucket.name AND seq <= checkpoint.value ->> '$.seq' ORDER BY seq DESC LIMIT 1) AS balance_after
     FROM json_each(?1) AS checkpoint CROSS JOIN (SELECT 'included' AS name UNION ALL SELECT 'purchased') AS bucket`,
  )
    .bind(JSON.stringify(checkpoints))
    .all<{ account_id: string; bucket: string; balance_after: number | null }>();
  return (accountId: string) => {
    const of = (bucket: string) =>
      results.find((row) => row.account_id === accountId && row.bucket === bucket)?.balance_after ?? 0;
    return { included: of("included"), purchased: of("purchased") };
  };
}

/** Applies a batch of copy messages; answers how many wallets were told where their copy stands. */
export async function applyCopyMessages(runtime: Runtime, bodies: readonly unknown[]): Promise<number> {
  const { env, logger } = runtime;
  const now = clock.now();
  const messages = bodies.flatMap((body) => {
    const parsed = CopyMessage.safeParse(body);
    if (!parsed.success) logger.error("copy message refused", { issue: parsed.error.issues[0]?.message });
    return parsed.success ? [parsed.data] : [];
  });
  if (messages.length === 0) return 0;
  await env.DB.batch(statementsOf(runtime, messages, now));
  const copies = await advance(env, messages, now);
  const due = copies.filter((copy) => copy.checkpointSeq > copy.verifiedSeq && copy.through >= copy.checkpointSeq);
  if (due.length > 0) {
    const copiedOf = await copiedBalancesAt(
      env,
      due.map((copy) => ({ accountId: copy.accountId, seq: copy.checkpointSeq })),
    );
    for (const copy of due) {
      const copied = copiedOf(copy.accountId);
      if (copied.included !== copy.checkpointIncluded || copied.purchased !== copy.checkpointPurchased) {
        copy.mismatches += 1;
        logger.error("wallet copy does not match its checkpoint", {
          accountId: copy.accountId,
          seq: copy.checkpointSeq,
          copied,
        });
      }
      copy.verifiedSeq = copy.checkpointSeq;
    }
  }
  const rows = copies.map(({ resendFrom: _resend, ...copy }) => copy);
  await env.DB.batch([
    env.DB.prepare(
      `INSERT INTO wallet_copies (account_id, through, checkpoint_seq, checkpoint_included, checkpoint_purchased,
         verified_seq, gaps, mismatches, updated_at)
       SELECT value ->> '$.accountId', value ->> '$.through', value ->> '$.checkpointSeq', value ->> '$.checkpointIncluded',
         value ->> '$.checkpointPurchased', value ->> '$.verifiedSeq', value ->> '$.gaps', value ->> '$.mismatches',
         value ->> '$.updatedAt' FROM json_each(?1) WHERE true
       ON CONFLICT (account_id) DO UPDATE SET through = max(through, excluded.through),
         checkpoint_seq = max(checkpoint_seq, excluded.checkpoint_seq),
         checkpoint_included = CASE WHEN excluded.checkpoint_seq >= checkpoint_seq THEN excluded.checkpoint_included ELSE checkpoint_included END,
         checkpoint_purchased = CASE WHEN excluded.checkpoint_seq >= checkpoint_seq THEN excluded.checkpoint_purchased ELSE checkpoint_purchased END,
         verified_seq = max(verified_seq, excluded.verified_seq), gaps = excluded.gaps, mismatches = excluded.mismatches,
         updated_at = excluded.updated_at`,
    ).bind(JSON.stringify(rows)),
    env.DB.prepare(
      `DELETE FROM wallet_copy_ranges WHERE EXISTS (SELECT 1 FROM json_each(?1) AS copy
         WHERE copy.value ->> '$.accountId' = wallet_copy_ranges.account_id AND wallet_copy_ranges.last_seq <= copy.value ->> '$.through')`,
    ).bind(JSON.stringify(rows)),
  ]);
  // A deleted account's wallet is gone: nothing to tell it.
  await Promise.all(
    copies
      .filter((copy) => copy.deletedAt === null)
      .map((copy) =>
        walletOf(env, copy.accountId)
          .confirm(copy.accountId, copy.through, copy.resendFrom)
          .catch((error: unknown) =>
            // The wallet sends unconfirmed rows again later; the copy ignores what it has.
            logger.warn("wallet not told of its copy", { accountId: copy.accountId, ...describeError(error) }),
          ),
      ),
  );
  return copies.length;
}

/** The copy queue's consumer: a batch is applied whole, or retried whole (every write ignores repeats). */
export async function consumeWalletCopies(batch: MessageBatch<unknown>, runtime: Runtime): Promise<void> {
  try {
    await applyCopyMessages(
      runtime,
      batch.messages.map((message) => message.body),
    );
    batch.ackAll();
  } catch (error) {
    runtime.logger.error("wallet copy batch failed; retried", describeError(error));
    batch.retryAll({ delaySeconds: 5 });
  }
}
