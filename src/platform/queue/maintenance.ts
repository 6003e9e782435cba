import { clock } from "../clock";
import type { Runtime } from "../context";
import { runFailureHook, type TaskRegistry } from "./consumer";
import { envelope } from "./tasks";

/**
 * Keeps the status rows honest: a task left `received` (its send failed, or its message was
 * lost) is sent again by the cron; one still `received` past the queue's message retention
 * can no longer be delivered by anything and is marked `failed`; processed rows are deleted
 * after a retention period. A task that is merely late is sent again, never given up: the
 * consumer skips whichever copy arrives second.
 */

/** Longer than the longest retry backoff, so a task waiting for its retry is not sent twice. */
export const STUCK_AFTER_MS = 15 * 60 * 1000;
/** The queue's message retention (Cloudflare's default, 4 days): no copy can arrive after it. */
export const MAX_TASK_AGE_MS = 4 * 24 * 60 * 60 * 1000;
const PROCESSED_RETENTION_MS = 7 * 24 * 60 * 60 * 1000;
/** Failed rows stay longer: an operator may replay them after a fix (`replayTask`). */
const FAILED_RETENTION_MS = 30 * 24 * 60 * 60 * 1000;
/** Queue sendBatch takes at most 100 messages. */
const REQUEUE_BATCH = 100;

type FailedRow = { id: string; kind: string; payload: string; reference: string; attempts: number };

export async function requeueStuckTasks(
  runtime: Runtime,
  now: number = clock.now(),
  registry: TaskRegistry = new Map(),
) {
  const { env } = runtime;
  const { results: givenUp } = await env.DB.prepare(
    `UPDATE queue_tasks SET status = 'failed', last_error = 'not processed within the queue retention', updated_at = ?1
     WHERE status = 'received' AND created_at < ?2 AND (leased_until IS NULL OR leased_until < ?1)
     RETURNING id, kind, payload, reference, attempts`,
  )
    .bind(now, now - MAX_TASK_AGE_MS)
    .all<FailedRow>();
  for (const row of givenUp) await runFailureHook(runtime, registry, row);
  // Claiming and selecting in one statement: no bound-parameter list (D1 allows 100), and a
  // concurrent cron run cannot pick the same rows. A row a consumer holds is left alone.
  const { results } = await env.DB.prepare(
    `UPDATE queue_tasks SET requeues = requeues + 1, updated_at = ?1
     WHERE id IN (
       SELECT id FROM queue_tasks
       WHERE status = 'received' AND updated_at < ?2 AND (leased_until IS NULL OR leased_until < ?1)
       ORDER BY updated_at LIMIT ?3)
     RETURNING id, kind`,
  )
    .bind(now, now - STUCK_AFTER_MS, REQUEUE_BATCH)
    .all<{ id: string; kind: string }>();
  if (results.length > 0) {
    await env.JOBS.sendBatch(
      results.map((row) => ({ body: envelope(row.id, row.kind), contentType: "json" as const })),
    );
  }
  return { requeued: results.length, givenUp: givenUp.length };
}

export async function purgeProcessedTasks(env: Pick<Env, "DB">, now: number = clock.now(), limit = 1000) {
  const [processed, failed] = await env.DB.batch([
    env.DB.prepare(
      "DELETE FROM queue_tasks WHERE rowid IN (SELECT rowid FROM queue_tasks WHERE status = 'processed' AND processed_at < ? LIMIT ?)",
    ).bind(now - PROCESSED_RETENTION_MS, limit),
    env.DB.prepare(
      "DELETE FROM queue_tasks WHERE rowid IN (SELECT rowid FROM queue_tasks WHERE status = 'failed' AND updated_at < ? LIMIT ?)",
    ).bind(now - FAILED_RETENTION_MS, limit),
  ]);
  return { deleted: processed?.meta.changes ?? 0, failedDeleted: failed?.meta.changes ?? 0 };
}

/**
 * An operator's replay: sends the task of `reference` again whatever its status (a `failed`
 * one after a fix, say). Effects are keyed by reference, so replaying processed work changes
 * nothing. `missing` when there is no such task, `busy` while a consumer holds it.
 */
export async function replayTask(
  env: Pick<Env, "DB" | "JOBS">,
  reference: string,
  now: number = clock.now(),
): Promise<{ taskId: string } | "missing" | "busy"> {
  const row = await env.DB.prepare(
    `UPDATE queue_tasks SET status = 'received', last_error = NULL, processed_at = NULL, updated_at = ?1
     WHERE reference = ?2 AND (leased_until IS NULL OR leased_until < ?1)
     RETURNING id, kind`,
  )
    .bind(now, reference)
    .first<{ id: string; kind: string }>();
  if (!row) {
    const exists = await env.DB.prepare("SELECT 1 AS found FROM queue_tasks WHERE reference = ?")
      .bind(reference)
      .first();
    return exists ? "busy" : "missing";
  }
  await env.JOBS.send(envelope(row.id, row.kind), { contentType: "json" });
  return { taskId: row.id };
}
