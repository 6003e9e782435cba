import { desc, gte, max, sum } from "drizzle-orm";
import { clock, HOUR_MS } from "../clock";
import { database } from "../db";
import { REFUSAL_BUCKET_MS, REFUSAL_RETENTION_MS, rateLimitRefusals } from "./tables";

/** Reading and purging the aggregated refusal counts the limiter objects write. */

async function mostRefusedSince(env: Env, since: number, limit: number) {
  const refused = sum(rateLimitRefusals.refused).mapWith(Number);
  const rows = await database(env)
    .select({ key: rateLimitRefusals.limitKey, refused, last: max(rateLimitRefusals.bucketStart) })
    .from(rateLimitRefusals)
    .where(gte(rateLimitRefusals.bucketStart, since))
    .groupBy(rateLimitRefusals.limitKey)
    .orderBy(desc(refused), rateLimitRefusals.limitKey)
    .limit(limit);
  return {
    since: clock.iso(since),
    items: rows.map((row) => ({
      key: row.key,
      kind: row.key.slice(0, row.key.indexOf(":")),
      refused: row.refused,
      lastBucketAt: clock.iso(row.last ?? since),
    })),
  };
}

/** The `limit` keys most refused in the last hour and day (to bucket precision: 5 minutes). */
export async function mostRefused(env: Env, limit: number, now = clock.now()) {
  const bucketStart = (at: number) => Math.floor(at / REFUSAL_BUCKET_MS) * REFUSAL_BUCKET_MS;
  const [hour, day] = await Promise.all([
    mostRefusedSince(env, bucketStart(now - HOUR_MS), limit),
    mostRefusedSince(env, bucketStart(now - 24 * HOUR_MS), limit),
  ]);
  return { bucketSeconds: REFUSAL_BUCKET_MS / 1000, hour, day };
}

/** Deletes buckets older than the retention, a bounded number per run (cron). */
export async function purgeOldRefusals(env: Pick<Env, "DB">, now: number, limit = 1000): Promise<number> {
  const result = await env.DB.prepare(
    "DELETE FROM rate_limit_refusals WHERE rowid IN (SELECT rowid FROM rate_limit_refusals WHERE bucket_start < ? LIMIT ?)",
  )
    .bind(now - REFUSAL_RETENTION_MS, limit)
    .run();
  return result.meta.changes;
}
