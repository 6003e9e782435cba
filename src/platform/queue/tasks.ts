import { z } from "@hono/zod-openapi";
import { eq } from "drizzle-orm";
import { clock } from "../clock";
import type { Runtime } from "../context";
import { asStatement, type BatchStatement, database } from "../db";
import { newId } from "../ids";
import { createLogger, describeError } from "../logger";
import { queueTasks } from "./tables";

/**
 * Typed queue tasks. A module defines a task (kind, payload schema, handler) with
 * `defineTask`, lists it in its module's `tasks` (`src/modules.ts` gathers them), and hands work over with `enqueue`.
 */

/** What a task runs with: the entry point's runtime, and which task and delivery this is. */
export type TaskContext = Runtime & {
  taskId: string;
  reference: string;
  /** 1 on the first delivery. */
  attempt: number;
};

export type TaskDefinition<Payload = unknown> = {
  kind: string;
  payload: z.ZodType<Payload>;
  /** Must be idempotent: delivery is at least once. Throw to retry with backoff. */
  handle(payload: Payload, context: TaskContext): Promise<void>;
  /** Runs once the task is marked `failed` (retries exhausted or unrunnable), to settle its own rows. */
  onFailure?(payload: Payload, context: TaskContext): Promise<void>;
};

export function defineTask<Payload>(definition: TaskDefinition<Payload>): TaskDefinition<Payload> {
  return definition;
}

/** The message body on the wire: the row holds the payload, the message only points at it. */
export const TaskEnvelopeSchema = z.object({
  v: z.literal(1),
  taskId: z.string().min(1),
  kind: z.string().min(1),
});
export type TaskEnvelope = z.infer<typeof TaskEnvelopeSchema>;

export function envelope(taskId: string, kind: string): TaskEnvelope {
  return { v: 1, taskId, kind };
}

/** `sent`: the queue has the message; `deferred`: it is being sent after the answer (`sendAfter`). */
export type EnqueueResult = {
  taskId: string;
  status: "received" | "processed" | "failed";
  sent: boolean | "deferred";
};

/** The task's row as `received`, once per reference. */
function recordOf<Payload>(env: Pick<Env, "DB">, task: TaskDefinition<Payload>, payload: Payload, reference: string) {
  const now = clock.now();
  return database(env)
    .insert(queueTasks)
    .values({
      id: newId("task", now),
      kind: task.kind,
      reference,
      payload: JSON.stringify(task.payload.parse(payload)),
      status: "received",
      createdAt: now,
      updatedAt: now,
    })
    .onConflictDoNothing({ target: queueTasks.reference });
}

/**
 * The task recorded as `received` by a statement of the caller's batch (it happens with the
 * caller's change, or not at all); `enqueue` with the same reference sends it, and the cron
 * sends it if that never happens.
 */
export const taskStatement = <Payload>(
  env: Pick<Env, "DB">,
  task: TaskDefinition<Payload>,
  payload: Payload,
  options: { reference: string },
): BatchStatement => asStatement(env, recordOf(env, task, payload, options.reference));

/**
 * Records the task as `received`, then sends it. The same `reference` twice records one
 * task: a repeat of one not yet processed is sent again, a processed or failed one is not.
 * If the send itself fails the row stays `received`, the failure is logged, and the cron
 * sends it again: the caller's own write has already happened and must not answer 500.
 */
export async function enqueue<Payload>(
  env: Pick<Env, "DB" | "JOBS">,
  task: TaskDefinition<Payload>,
  payload: Payload,
  options: {
    reference: string;
    /**
     * Sends the message after the answer: given the send (e.g. `waitUntil`), it is not awaited.
     * The row is written before either way, so a send that fails or never runs leaves it
     * `received` for the cron.
     */
    sendAfter?: (sending: Promise<unknown>) => void;
  },
): Promise<EnqueueResult> {
  const db = database(env);
  const body = JSON.stringify(task.payload.parse(payload));
  const inserted = await recordOf(env, task, payload, options.reference).returning({
    id: queueTasks.id,
    status: queueTasks.status,
    kind: queueTasks.kind,
    payload: queueTasks.payload,
  });
  const row =
    inserted[0] ??
    (
      await db
        .select({ id: queueTasks.id, status: queueTasks.status, kind: queueTasks.kind, payload: queueTasks.payload })
        .from(queueTasks)
        .where(eq(queueTasks.reference, options.reference))
    )[0];
  if (!row) throw new Error(`queue task ${options.reference} vanished while being enqueued`);
  if (row.kind !== task.kind || row.payload !== body) {
    // A reference names one piece of work; reusing it for other work is a caller's bug.
    throw new Error(`queue reference ${options.reference} already names other work (${row.kind})`);
  }
  const { status } = row;
  if (status !== "received") return { taskId: row.id, status, sent: false };
  const sending = env.JOBS.send(envelope(row.id, task.kind), { contentType: "json" }).then(
    () => true,
    (error: unknown) => {
      createLogger("error").error("queue send failed; the cron will send it again", {
        taskId: row.id,
        ...describeError(error),
      });
      return false;
    },
  );
  if (options.sendAfter) {
    options.sendAfter(sending);
    return { taskId: row.id, status, sent: "deferred" };
  }
  return { taskId: row.id, status, sent: await sending };
}

/** When a task of `kind` was last processed: the readiness check reads the queue's pulse here. */
export async function lastProcessedAt(env: Pick<Env, "DB">, kind: string): Promise<number | null> {
  const row = await env.DB.prepare(
    "SELECT max(processed_at) AS at FROM queue_tasks WHERE kind = ? AND status = 'processed'",
  )
    .bind(kind)
    .first<{ at: number | null }>();
  return row?.at ?? null;
}
