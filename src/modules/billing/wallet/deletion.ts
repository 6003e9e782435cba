import { z } from "@hono/zod-openapi";
import { clock } from "../../../platform/clock";
import type { BatchStatement } from "../../../platform/db";
import { defineTask, enqueue, taskStatement } from "../../../platform/queue/tasks";
import type { OrgDeletionFollowUp, OrgDeletionGuard } from "../../identity/api";
import { askWallet } from "./client";

/**
 * Deleting an org, as its wallet sees it: credits it paid for keep it (a platform admin may
 * force past that, forfeiting them), and so does work still being paid for; the deletion's
 * batch marks the wallet deleted (it never opens again, its copy stays for reporting); once
 * the org is gone, a queue task (recorded in that batch, so retried until done) has the wallet
 * ship all it still holds to the copy and delete its storage.
 */

export const walletKeepsOrg: OrgDeletionGuard = async (env, orgId) => {
  const { balances, held } = await askWallet(env, orgId, (wallet) => wallet.balance(orgId));
  if (balances.purchased > 0) {
    return { reason: `it still holds ${balances.purchased / 1000} purchased credits.`, forcible: true };
  }
  return held > 0 ? { reason: "work it pays for is still running; try again shortly.", forcible: true } : null;
};

/** Ships what the deleted account's wallet still holds to the copy, then deletes its storage (retried). */
export const closeWalletTask = defineTask({
  kind: "billing.close-wallet",
  payload: z.object({ accountId: z.string() }).strict(),
  async handle({ accountId }, { env }) {
    await askWallet(env, accountId, (wallet) => wallet.close(accountId));
  },
});

const closing = (accountId: string) => ({ reference: `billing.close-wallet:${accountId}` });

export function markWalletDeleted(env: Env, orgId: string): BatchStatement[] {
  const now = clock.now();
  return [
    taskStatement(env, closeWalletTask, { accountId: orgId }, closing(orgId)),
    env.DB.prepare(
      `INSERT INTO wallet_migrations (account_id, migrated_at, deleted_at) VALUES (?1, ?2, ?2)
       ON CONFLICT (account_id) DO UPDATE SET deleted_at = excluded.deleted_at`,
    ).bind(orgId, now),
    env.DB.prepare("UPDATE wallet_copies SET deleted_at = ? WHERE account_id = ?").bind(now, orgId),
  ];
}

/** Sends the closing task recorded by the deletion's batch (the cron sends it if this fails). */
export const closeDeletedWallet: OrgDeletionFollowUp = async (env, orgId) => {
  await enqueue(env, closeWalletTask, { accountId: orgId }, closing(orgId));
};
