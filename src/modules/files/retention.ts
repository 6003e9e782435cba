import { DAY_MS } from "../../platform/clock";
import type { effectivePlan } from "../plans/api";
import { forgetStatements } from "./quota";
import type { FilePurpose } from "./tables";

/**
 * How long files are kept: those uploaded to compress (and, later, the compression service's
 * outputs) for their plan's `compressionRetentionDays`; every other purpose until deleted. The
 * cron deletes expired files in bounded pages, giving their storage back.
 */

type Plan = Awaited<ReturnType<typeof effectivePlan>>;

/** When a file of `purpose` created `now` on `plan` expires, or null. */
export const expiryOf = (plan: Plan, purpose: FilePurpose, now: number): number | null =>
  purpose === "compression" ? now + plan.compressionRetentionDays * DAY_MS : null;

/** Deletes up to `limit` expired files in one batch, then their objects: how many. */
export async function deleteExpiredFiles(env: Env, now: number, limit: number): Promise<number> {
  const { results } = await env.DB.prepare(
    "SELECT id, r2_key AS r2Key FROM files WHERE expires_at <= ? ORDER BY expires_at LIMIT ?",
  )
    .bind(now, limit)
    .all<{ id: string; r2Key: string }>();
  if (results.length === 0) return 0;
  // Rows first (their storage given back), objects after: a failure leaves an orphan object, never a row without one.
  await env.DB.batch(results.flatMap((file) => forgetStatements(env, file.id)));
  await env.FILES.delete(results.map((file) => file.r2Key));
  return results.length;
}
