import { clock } from "../../../platform/clock";
import type { BatchStatement } from "../../../platform/db";
import type { OrgDeletionFollowUp, OrgDeletionGuard } from "../../identity/api";
import { askWallet } from "./client";

/**
 * Deleting an org, as its wallet sees it: credits it paid for keep it (a platform admin may
 * force past that, forfeiting them), and so does work still being paid for; the deletion's
 * batch marks the wallet deleted (it never opens again, its copy stays for reporting); once
 * the org is gone, the wallet ships what it still holds to the copy and deletes its storage.
 */

export const walletKeepsOrg: OrgDeletionGuard = async (env, orgId) => {
  const { balances, held } = await askWallet(env, orgId, (wallet) => wallet.balance(orgId));
  if (balances.purchased > 0) {
    return { reason: `it still holds ${balances.purchased / 1000} purchased credits.`, forcible: true };
  }
  return held > 0 ? { reason: "work it pays for is still running; try again shortly.", forcible: true } : null;
};

export function markWalletDeleted(env: Env, orgId: string): BatchStatement[] {
  const now = clock.now();
  return [
    env.DB.prepare(
      `INSERT INTO wallet_migrations (account_id, migrated_at, deleted_at) VALUES (?1, ?2, ?2)
       ON CONFLICT (account_id) DO UPDATE SET deleted_at = excluded.deleted_at`,
    ).bind(orgId, now),
    env.DB.prepare("UPDATE wallet_copies SET deleted_at = ? WHERE account_id = ?").bind(now, orgId),
  ];
}

export const closeDeletedWallet: OrgDeletionFollowUp = async (env, orgId) => {
  await askWallet(env, orgId, (wallet) => wallet.close(orgId));
};
