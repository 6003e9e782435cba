import { and, eq, isNull, lt, or } from "drizzle-orm";
import { clock } from "../clock";
import type { Runtime } from "../context";
import { database } from "../db";
import { describeError } from "../logger";
import { queueTasks } from "./tables";
import { type TaskDefinition, TaskEnvelopeSchema } from "./tasks";

/**
 * The JOBS consumers. Delivery is at least once, so a task whose row is already `processed`
 * or `failed` is acknowledged without running again, and a consumer leases the row before
 * running it so two deliveries never run one task at once. A failure (of the handler or of
 * D1) is retried with exponential backoff; after the queue's `max_retries` (wrangler.toml)
 * the message moves to the dead-letter queue, whose consumer marks the row `failed`.
 */

export type TaskRegistry = ReadonlyMap<string, TaskDefinition<unknown>>;

export function taskRegistry(tasks: readonly TaskDefinition<unknown>[]): TaskRegistry {
  const registry = new Map<string, TaskDefinition<unknown>>();
  for (const task of tasks) {
    if (registry.has(task.kind)) throw new Error(`queue task kind "${task.kind}" is registered twice`);
    registry.set(task.kind, task);
  }
  return registry;
}

const BACKOFF_BASE_SECONDS = 10;
const BACKOFF_MAX_SECONDS = 300;
/** A queue consumer runs at most 15 minutes; a lease older than that belongs to a dead one. */
const LEASE_MS = 15 * 60 * 1000;
const MAX_ERROR_LENGTH = 500;

/** 10 s, 20 s, 40 s … capped at 5 min, with ±20 % jitter so retries do not arrive in step. */
export function backoffSeconds(attempt: number, random: () => number = Math.random): number {
  const base = Math.min(BACKOFF_MAX_SECONDS, BACKOFF_BASE_SECONDS * 2 ** Math.max(0, attempt - 1));
  return Math.round(base * (0.8 + 0.4 * random()));
}

/** A stored payload that is not JSON fails its schema check instead of failing the batch. */
function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

const errorText = (error: unknown) =>
  (error instanceof Error ? error.message : String(error)).slice(0, MAX_ERROR_LENGTH);

/** Marks a still-received task failed, then lets its definition settle its own rows. */
async function markFailed(runtime: Runtime, registry: TaskRegistry, taskId: string, reason: string) {
  const [row] = await database(runtime.env)
    .update(queueTasks)
    .set({ status: "failed", lastError: reason.slice(0, MAX_ERROR_LENGTH), leasedUntil: null, updatedAt: clock.now() })
    .where(and(eq(queueTasks.id, taskId), eq(queueTasks.status, "received")))
    .returning();
  if (row) await runFailureHook(runtime, registry, row);
}

/** The task definition's `onFailure`, for a row just marked failed (here or by the cron). */
export async function runFailureHook(
  runtime: Runtime,
  registry: TaskRegistry,
  row: { id: string; kind: string; payload: string; reference: string; attempts: number },
) {
  const task = registry.get(row.kind);
  const payload = task?.payload.safeParse(parseJson(row.payload));
  if (task?.onFailure && payload?.success) {
    await task.onFailure(payload.data, { ...runtime, taskId: row.id, reference: row.reference, attempt: row.attempts });
  }
}

type Outcome = "done" | "retry";

async function runOne(message: Message<unknown>, runtime: Runtime, registry: TaskRegistry): Promise<Outcome> {
  const { env, logger: log } = runtime;
  const parsed = TaskEnvelopeSchema.safeParse(message.body);
  if (!parsed.success) {
    log.error("queue message refused: not a task envelope", { messageId: message.id });
    return "done";
  }
  const { taskId } = parsed.data;
  const db = database(env);
  const now = clock.now();
  const [row] = await db
    .update(queueTasks)
    .set({ leasedUntil: now + LEASE_MS, attempts: message.attempts, updatedAt: now })
    .where(
      and(
        eq(queueTasks.id, taskId),
        eq(queueTasks.status, "received"),
        or(isNull(queueTasks.leasedUntil), lt(queueTasks.leasedUntil, now)),
      ),
    )
    .returning();
  if (!row) {
    const [current] = await db.select({ status: queueTasks.status }).from(queueTasks).where(eq(queueTasks.id, taskId));
    if (current?.status === "received") {
      log.info("queue task running elsewhere; will look again", { taskId });
      return "retry";
    }
    log.info("queue task skipped", { taskId, reason: current ? `already ${current.status}` : "no such task" });
    return "done";
  }
  const task = registry.get(row.kind);
  const payload = task?.payload.safeParse(parseJson(row.payload));
  if (!task || !payload?.success) {
    const reason = task ? "payload does not match the task's schema" : `no handler for kind "${row.kind}"`;
    log.error("queue task failed permanently", { taskId, reason });
    await markFailed(runtime, registry, taskId, reason);
    return "done";
  }
  try {
    await task.handle(payload.data, { ...runtime, taskId, reference: row.reference, attempt: message.attempts });
  } catch (error) {
    await db
      .update(queueTasks)
      .set({ leasedUntil: null, lastError: log.redact(errorText(error)), updatedAt: clock.now() })
      .where(eq(queueTasks.id, taskId));
    throw error;
  }
  const done = clock.now();
  await db
    .update(queueTasks)
    .set({ status: "processed", processedAt: done, updatedAt: done, leasedUntil: null, lastError: null })
    .where(and(eq(queueTasks.id, taskId), eq(queueTasks.status, "received")));
  return "done";
}

/** The JOBS consumer: messages run one after another to keep each invocation's subrequests bounded. */
export async function consumeTasks(batch: MessageBatch<unknown>, runtime: Runtime, registry: TaskRegistry) {
  for (const message of batch.messages) {
    const log = runtime.logger.child({ messageId: message.id, attempt: message.attempts });
    try {
      const outcome = await runOne(message, { ...runtime, logger: log }, registry);
      if (outcome === "done") message.ack();
      else message.retry({ delaySeconds: backoffSeconds(message.attempts) });
    } catch (error) {
      const delaySeconds = backoffSeconds(message.attempts);
      log.warn("queue task failed; will retry", { ...describeError(error), delaySeconds });
      message.retry({ delaySeconds });
    }
  }
}

/** The dead-letter consumer: a task that exhausted its retries is marked `failed`, never left `received`. */
export async function consumeDeadLetters(batch: MessageBatch<unknown>, runtime: Runtime, registry: TaskRegistry) {
  const { logger } = runtime;
  for (const message of batch.messages) {
    const parsed = TaskEnvelopeSchema.safeParse(message.body);
    if (parsed.success) {
      await markFailed(runtime, registry, parsed.data.taskId, "retries exhausted (dead-lettered)");
      logger.error("queue task dead-lettered", { taskId: parsed.data.taskId, kind: parsed.data.kind });
    } else {
      logger.error("dead-letter message is not a task envelope", { messageId: message.id });
    }
    message.ack();
  }
}
