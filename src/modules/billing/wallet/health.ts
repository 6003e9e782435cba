import { clock } from "../../../platform/clock";

/**
 * How the D1 copy of the wallets stands, for platform admins: copies behind their wallet's
 * latest checkpoint, the gaps the consumer asked wallets to resend, and checkpoints whose
 * balances disagreed with the copied rows (which should never happen).
 */
export async function walletCopyHealth(env: Env) {
  const [totals, attention] = await env.DB.batch([
    env.DB.prepare(
      `SELECT count(*) AS accounts, coalesce(sum(through < checkpoint_seq), 0) AS lagging,
         coalesce(sum(gaps), 0) AS gaps, coalesce(sum(mismatches), 0) AS mismatches
       FROM wallet_copies WHERE deleted_at IS NULL`,
    ),
    env.DB.prepare(
      `SELECT account_id, through, checkpoint_seq, gaps, mismatches, updated_at FROM wallet_copies
       WHERE deleted_at IS NULL AND (mismatches > 0 OR gaps > 0 OR through < checkpoint_seq)
       ORDER BY mismatches DESC, updated_at LIMIT 100`,
    ),
  ]);
  const sums = (totals?.results[0] ?? {}) as Record<string, number>;
  const rows = (attention?.results ?? []) as {
    account_id: string;
    through: number;
    checkpoint_seq: number;
    gaps: number;
    mismatches: number;
    updated_at: number;
  }[];
  return {
    accounts: sums.accounts ?? 0,
    lagging: sums.lagging ?? 0,
    gaps: sums.gaps ?? 0,
    mismatches: sums.mismatches ?? 0,
    attention: rows.map((row) => ({
      accountId: row.account_id,
      through: row.through,
      checkpointSeq: row.checkpoint_seq,
      gaps: row.gaps,
      mismatches: row.mismatches,
      updatedAt: clock.iso(row.updated_at),
    })),
  };
}
