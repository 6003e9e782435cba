import { and, eq } from "drizzle-orm";
import { clock } from "../../../platform/clock";
import { database } from "../../../platform/db";
import { AppError } from "../../../platform/errors";
import { keyset, toPage } from "../../../platform/pagination";
import type { QuotaUsage } from "../../plans/api";
import { creditLedger } from "../tables";
import { askWallet } from "../wallet/client";
import type { CreditBucket, GrantAnswer } from "../wallet/protocol";

/**
 * The credits of an account as billing's own code moves and reads them: grants and their
 * balances go to and come from the account's wallet (exact); the ledger is read from its D1
 * copy, which trails the wallet by the copy's lag (seconds; README, "Scale").
 */

type Grant = { accountId: string; bucket: CreditBucket; amount: number; reason: string; reference: string };

/**
 * Adds (or, negative, removes) credits once per `reference`. Answers false when the reference
 * was applied before; a removal that would take what the bucket has (or holds) is
 * `insufficient_credits`.
 */
export async function grant(env: Env, entry: Grant): Promise<boolean> {
  if (!Number.isSafeInteger(entry.amount) || entry.amount === 0) throw new Error("a grant needs a non-zero integer");
  const answer = await askWallet<GrantAnswer>(env, entry.accountId, (wallet) => wallet.grant(entry));
  if (!answer.ok) throw new AppError(answer.code, answer.detail);
  return answer.applied;
}

/** Balances per bucket (the sums of their ledgers), what open holds keep, and what can be spent. */
export async function creditsOf(env: Env, accountId: string) {
  const wallet = await askWallet(env, accountId, (stub) => stub.balance(accountId));
  return {
    accountId,
    balances: wallet.balances,
    available: wallet.available,
    held: wallet.held,
    holds: wallet.holds.map((hold) => ({
      id: hold.id,
      reference: hold.reference,
      amount: hold.amount,
      createdAt: clock.iso(hold.createdAt),
      expiresAt: clock.iso(hold.expiresAt),
    })),
  };
}

/** What the account's wallet counted of each quota metric in the periods asked (plans' `/v1/me/limits`). */
export const quotaUsageOf: QuotaUsage = async (env, accountId, periods) => {
  const status = await askWallet(env, accountId, (wallet) => wallet.status(accountId, { counters: periods }));
  return status.counters.map((counter) => counter.used);
};

/** The account's ledger as copied to D1, newest first, by cursor. */
export async function ledgerOf(env: Env, accountId: string, page: { limit: number; cursor?: string }) {
  const { after, orderBy } = keyset(page.cursor, creditLedger.createdAt, creditLedger.id, "desc");
  const rows = await database(env)
    .select()
    .from(creditLedger)
    .where(and(eq(creditLedger.accountId, accountId), after))
    .orderBy(...orderBy)
    .limit(page.limit + 1);
  const { items, nextCursor } = toPage(rows, page.limit, (row) => ({ key: row.createdAt, id: row.id }));
  return { items: items.map(publicLedgerEntry), nextCursor };
}

function publicLedgerEntry(row: typeof creditLedger.$inferSelect) {
  const { accountId: _account, createdAt, ...entry } = row;
  return { ...entry, createdAt: clock.iso(createdAt) };
}
