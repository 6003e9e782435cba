import { z } from "@hono/zod-openapi";
import { defineTask, enqueue } from "../../../platform/queue/tasks";
import { askWallet } from "./client";

/**
 * The one-off sweep that moves the credits of accounts nobody touches into their wallets (a
 * touched wallet migrates itself), a page of accounts per task, each page enqueueing the next.
 * The cron starts it once: its first page's reference is fixed. Once every account with
 * pre-wallet credits has moved, a page finds none and the sweep ends.
 */

const PAGE = 50;

/** Accounts with pre-wallet credits or holds that have not moved, after `after`. */
async function unmigratedAccounts(env: Env, after: string): Promise<string[]> {
  const { results } = await env.DB.prepare(
    `SELECT account_id FROM (SELECT account_id FROM credit_balances UNION SELECT account_id FROM credit_holds
       UNION SELECT account_id FROM quota_usage) AS accounts
     WHERE account_id > ? AND account_id NOT IN (SELECT account_id FROM wallet_migrations)
     ORDER BY account_id LIMIT ?`,
  )
    .bind(after, PAGE)
    .all<{ account_id: string }>();
  return results.map((row) => row.account_id);
}

export const migrateWalletsTask = defineTask({
  kind: "billing.migrate-wallets",
  payload: z.object({ after: z.string() }).strict(),
  async handle({ after }, { env }) {
    const accounts = await unmigratedAccounts(env, after);
    // Touching a wallet is what migrates it.
    for (const accountId of accounts) await askWallet(env, accountId, (wallet) => wallet.balance(accountId));
    const last = accounts.at(-1);
    if (last && accounts.length === PAGE) await startSweep(env, last);
  },
});

/** Enqueues the sweep's page after `after` (once per page: its reference). */
export const startSweep = (env: Env, after = "") =>
  enqueue(env, migrateWalletsTask, { after }, { reference: `billing.migrate-wallets:${after}` });
