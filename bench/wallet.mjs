// The wallet checks at the end of `npm run bench`: the bench user's credits were legacy D1 rows
// (credit_balances + credit_ledger), which its AccountWallet took over at its first touch; once
// the copy queue has drained, the D1 copy (credit_ledger rows with a seq) sums to the wallet's
// balances, and the legacy tables refuse writes of the migrated account.

import { setTimeout as sleep } from "node:timers/promises";

const BUCKETS = ["included", "purchased"];

/** How the D1 copy of `accountId`'s wallet stands: its wallet_copies row and the copied ledger's sums per bucket. */
export async function copyStatus(db, accountId) {
  const copy = await db
    .prepare(
      `SELECT through, checkpoint_seq AS checkpointSeq, checkpoint_included AS included,
         checkpoint_purchased AS purchased, gaps, mismatches FROM wallet_copies WHERE account_id = ?`,
    )
    .bind(accountId)
    .first();
  const { results } = await db
    .prepare(
      `SELECT bucket, sum(amount) AS total, count(*) AS rows FROM credit_ledger
       WHERE account_id = ? AND seq IS NOT NULL GROUP BY bucket`,
    )
    .bind(accountId)
    .all();
  const atCheckpoint = copy
    ? (
        await db
          .prepare(
            "SELECT bucket, sum(amount) AS total FROM credit_ledger WHERE account_id = ? AND seq IS NOT NULL AND seq <= ? GROUP BY bucket",
          )
          .bind(accountId, copy.checkpointSeq)
          .all()
      ).results
    : [];
  const sumsOf = (rows) => Object.fromEntries(BUCKETS.map((b) => [b, rows.find((r) => r.bucket === b)?.total ?? 0]));
  const checkpointSums = sumsOf(atCheckpoint);
  return {
    copy,
    rows: results.reduce((n, r) => n + r.rows, 0),
    sums: sumsOf(results),
    /** Whether the copy holds every row up to the checkpoint and their sums are its balances. */
    consistent:
      copy !== null && copy.through >= copy.checkpointSeq && BUCKETS.every((b) => checkpointSums[b] === copy[b]),
  };
}

/** One line on a copy's state. */
export const describeCopy = ({ copy, rows, sums, consistent }) =>
  copy
    ? `${rows} rows copied (Σ included ${sums.included}, purchased ${sums.purchased}), through seq ${copy.through} of checkpoint ${copy.checkpointSeq}, ` +
      `gaps ${copy.gaps}, mismatches ${copy.mismatches}, checkpoint ${consistent ? "= Σ copied rows" : "NOT matched by the copied rows"}`
    : "no copy yet";

/**
 * Polls (up to `timeoutMs`, as the copy lags by design) until the copy of `accountId` is
 * consistent and sums to the wallet's live balances, `wallet()` answering `{ balances, holds }`.
 */
export async function waitForCopy({ db, accountId, wallet, timeoutMs = 20_000 }) {
  const started = performance.now();
  for (;;) {
    const live = await wallet();
    const status = await copyStatus(db, accountId);
    const caughtUp =
      status.consistent && live.holds.length === 0 && BUCKETS.every((b) => status.sums[b] === live.balances[b]);
    const waitedMs = performance.now() - started;
    if (caughtUp || waitedMs > timeoutMs) return { wallet: live, status, caughtUp, waitedMs };
    await sleep(250);
  }
}

/** One line on a wallet and its copy, once waited for. */
export const describeWait = ({ wallet, status, caughtUp, waitedMs }) =>
  `wallet included ${wallet.balances.included}, purchased ${wallet.balances.purchased}, ${wallet.holds.length} open holds; ` +
  `D1 copy ${caughtUp ? `= wallet after ${(waitedMs / 1000).toFixed(1)} s more` : `NOT equal to the wallet after ${(waitedMs / 1000).toFixed(1)} s`}: ${describeCopy(status)}`;

/**
 * The stratus bench user: migrated into its wallet (a "migrated" ledger row carrying the legacy
 * balance), legacy writes refused, and its copy caught up with the wallet (GET /v1/credits).
 */
export async function checkMigration({ db, userId, stratus, auth }) {
  const marker = await db
    .prepare("SELECT migrated_at FROM wallet_migrations WHERE account_id = ?")
    .bind(userId)
    .first();
  if (!marker) throw new Error(`the bench user ${userId} was never migrated into its wallet`);
  const migrated = (
    await db
      .prepare(
        "SELECT bucket, amount FROM credit_ledger WHERE account_id = ? AND reason = 'migrated' AND seq IS NOT NULL",
      )
      .bind(userId)
      .all()
  ).results;
  let legacyWrite = "accepted (the migration triggers did not fire)";
  try {
    await db.prepare("UPDATE credit_balances SET balance = balance WHERE account_id = ?").bind(userId).run();
  } catch (error) {
    legacyWrite = /wallet_migrated/.test(String(error?.message)) ? "refused (wallet_migrated)" : `failed: ${error}`;
  }
  const copy = await waitForCopy({
    db,
    accountId: userId,
    wallet: async () => {
      const response = await fetch(`${stratus}/v1/credits`, { headers: auth });
      if (response.status !== 200) throw new Error(`GET /v1/credits: ${response.status} ${await response.text()}`);
      return response.json();
    },
  });
  return { migrated, legacyWrite, copy };
}
