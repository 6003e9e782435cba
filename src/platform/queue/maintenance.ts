import { clock } from "../clock";
import { envelope } from "./tasks";

/**
 * Keeps the status rows honest: a task left `received` (its send failed, or its message was
 * lost) is sent again by the cron, a bounded number of times, then marked `failed`; old
 * processed rows are deleted after the retention period.
 */

/** Longer than the longest retry backoff, so a task waiting for its retry is not sent twice. */
export const STUCK_AFTER_MS = 15 * 60 * 1000;
export const MAX_REQUEUES = 5;
export const PROCESSED_RETENTION_MS = 7 * 24 * 60 * 60 * 1000;
/** Queue sendBatch takes at most 100 messages. */
const REQUEUE_BATCH = 100;

export async function requeueStuckTasks(env: Pick<Env, "DB" | "JOBS">, now: number = clock.now()) {
  const cutoff = now - STUCK_AFTER_MS;
  const given = await env.DB.prepare(
    "UPDATE queue_tasks SET status = 'failed', last_error = 'never processed: requeued too often', updated_at = ? WHERE status = 'received' AND updated_at < ? AND requeues >= ?",
  )
    .bind(now, cutoff, MAX_REQUEUES)
    .run();
  // Claiming and selecting in one statement: no bound-parameter list (D1 allows 100), and
  // a concurrent cron run cannot pick the same rows. If the send then fails, the rows wait
  // one more STUCK_AFTER_MS and are claimed again.
  const { results } = await env.DB.prepare(
    `UPDATE queue_tasks SET requeues = requeues + 1, updated_at = ?1
     WHERE id IN (SELECT id FROM queue_tasks WHERE status = 'received' AND updated_at < ?2 ORDER BY updated_at LIMIT ?3)
     RETURNING id, kind`,
  )
    .bind(now, cutoff, REQUEUE_BATCH)
    .all<{ id: string; kind: string }>();
  if (results.length > 0) {
    await env.JOBS.sendBatch(
      results.map((row) => ({ body: envelope(row.id, row.kind), contentType: "json" as const })),
    );
  }
  return { requeued: results.length, givenUp: given.meta.changes };
}

export async function purgeProcessedTasks(env: Pick<Env, "DB">, now: number = clock.now(), limit = 1000) {
  const result = await env.DB.prepare(
    "DELETE FROM queue_tasks WHERE rowid IN (SELECT rowid FROM queue_tasks WHERE status = 'processed' AND processed_at < ? LIMIT ?)",
  )
    .bind(now - PROCESSED_RETENTION_MS, limit)
    .run();
  return { deleted: result.meta.changes };
}
