import { and, eq } from "drizzle-orm";
import { clock } from "../clock";
import { database } from "../db";
import { describeError, type Logger } from "../logger";
import { queueTasks } from "./tables";
import { type TaskDefinition, TaskEnvelopeSchema } from "./tasks";

/**
 * The JOBS consumers. Delivery is at least once, so a task whose row is already `processed`
 * or `failed` is acknowledged without running again. A failing handler is retried with
 * exponential backoff; after the queue's `max_retries` (wrangler.toml) the message moves to
 * the dead-letter queue, whose consumer marks the row `failed`.
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

/** 10 s, 20 s, 40 s … capped at 5 min, with ±20 % jitter so retries do not arrive in step. */
export function backoffSeconds(attempt: number, random: () => number = Math.random): number {
  const base = Math.min(BACKOFF_MAX_SECONDS, BACKOFF_BASE_SECONDS * 2 ** Math.max(0, attempt - 1));
  return Math.round(base * (0.8 + 0.4 * random()));
}

const MAX_ERROR_LENGTH = 500;

/** A stored payload that is not JSON fails its schema check instead of failing the batch. */
function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

async function markFailed(env: Env, taskId: string, reason: string) {
  const now = clock.now();
  await database(env)
    .update(queueTasks)
    .set({ status: "failed", lastError: reason.slice(0, MAX_ERROR_LENGTH), updatedAt: now })
    .where(and(eq(queueTasks.id, taskId), eq(queueTasks.status, "received")));
}

async function runOne(message: Message<unknown>, env: Env, registry: TaskRegistry, logger: Logger) {
  const parsed = TaskEnvelopeSchema.safeParse(message.body);
  if (!parsed.success) {
    logger.error("queue message refused: not a task envelope", { messageId: message.id });
    message.ack();
    return;
  }
  const { taskId, kind } = parsed.data;
  const log = logger.child({ taskId, kind, attempt: message.attempts });
  const db = database(env);
  const [row] = await db.select().from(queueTasks).where(eq(queueTasks.id, taskId));
  if (row?.status !== "received") {
    log.info("queue task skipped", { reason: row ? `already ${row.status}` : "no such task" });
    message.ack();
    return;
  }
  const task = registry.get(row.kind);
  const payload = task?.payload.safeParse(parseJson(row.payload));
  if (!task || !payload?.success) {
    const reason = task ? "payload does not match the task's schema" : `no handler for kind "${row.kind}"`;
    log.error("queue task failed permanently", { reason });
    await markFailed(env, taskId, reason);
    message.ack();
    return;
  }
  try {
    await task.handle(payload.data, { env, taskId, reference: row.reference, attempt: message.attempts, logger: log });
  } catch (error) {
    const delaySeconds = backoffSeconds(message.attempts);
    log.warn("queue task failed; will retry", { ...describeError(error), delaySeconds });
    await db
      .update(queueTasks)
      .set({
        attempts: message.attempts,
        lastError: (error instanceof Error ? error.message : String(error)).slice(0, MAX_ERROR_LENGTH),
        updatedAt: clock.now(),
      })
      .where(eq(queueTasks.id, taskId));
    message.retry({ delaySeconds });
    return;
  }
  const now = clock.now();
  await db
    .update(queueTasks)
    .set({ status: "processed", attempts: message.attempts, processedAt: now, updatedAt: now, lastError: null })
    .where(and(eq(queueTasks.id, taskId), eq(queueTasks.status, "received")));
  message.ack();
}

/** The JOBS consumer: messages run one after another to keep each invocation's subrequests bounded. */
export async function consumeTasks(batch: MessageBatch<unknown>, env: Env, registry: TaskRegistry, logger: Logger) {
  for (const message of batch.messages) {
    await runOne(message, env, registry, logger);
  }
}

/** The dead-letter consumer: a task that exhausted its retries is marked `failed`, never left `received`. */
export async function consumeDeadLetters(batch: MessageBatch<unknown>, env: Env, logger: Logger) {
  for (const message of batch.messages) {
    const parsed = TaskEnvelopeSchema.safeParse(message.body);
    if (parsed.success) {
      await markFailed(env, parsed.data.taskId, "retries exhausted (dead-lettered)");
      logger.error("queue task dead-lettered", { taskId: parsed.data.taskId, kind: parsed.data.kind });
    } else {
      logger.error("dead-letter message is not a task envelope", { messageId: message.id });
    }
    message.ack();
  }
}
