import { createExecutionContext, createMessageBatch, env, getQueueResult } from "cloudflare:test";
import { z } from "@hono/zod-openapi";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import worker from "../../src/index";
import { createLogger } from "../../src/platform/logger";
import { backoffSeconds, consumeTasks, taskRegistry } from "../../src/platform/queue/consumer";
import {
  MAX_TASK_AGE_MS,
  purgeProcessedTasks,
  requeueStuckTasks,
  STUCK_AFTER_MS,
} from "../../src/platform/queue/maintenance";
import { defineTask, enqueue, type TaskEnvelope } from "../../src/platform/queue/tasks";
import { runtimeOf } from "../helpers/runtime";

const logger = createLogger("error");
const handled: string[] = [];
let failNext = 0;

const noteTask = defineTask({
  kind: "test.note",
  payload: z.object({ text: z.string() }).strict(),
  async handle(payload) {
    if (failNext > 0) {
      failNext -= 1;
      throw new Error("transient failure");
    }
    handled.push(payload.text);
  },
});
const registry = taskRegistry([noteTask]);

type Row = {
  status: string;
  attempts: number;
  requeues: number;
  last_error: string | null;
  processed_at: number | null;
};
const rowOf = (id: string) => env.DB.prepare("SELECT * FROM queue_tasks WHERE id = ?").bind(id).first<Row>();

/** Records a task without letting the real consumer see it (its kind is unknown there). */
async function record(reference: string, text = reference) {
  const send = vi.spyOn(env.JOBS, "send").mockResolvedValue(undefined as never);
  const result = await enqueue(env, noteTask, { text }, { reference });
  send.mockRestore();
  return result;
}

async function deliver(messages: { taskId: string; attempts?: number }[], queue = "stratus-jobs") {
  const batch = createMessageBatch<TaskEnvelope>(
    queue,
    messages.map((message, index) => ({
      id: `msg-${index}`,
      timestamp: new Date(),
      attempts: message.attempts ?? 1,
      body: { v: 1, taskId: message.taskId, kind: noteTask.kind },
    })),
  );
  // The test queue records which messages were retried but not their delay: capture it here.
  const delays: (number | undefined)[] = [];
  for (const message of batch.messages) {
    const retry = message.retry.bind(message);
    message.retry = (options) => {
      delays.push(options?.delaySeconds);
      retry(options);
    };
  }
  const ctx = createExecutionContext();
  await consumeTasks(batch, runtimeOf(env, logger), registry);
  return { ...(await getQueueResult(batch, ctx)), delays };
}

beforeEach(() => {
  handled.length = 0;
  failNext = 0;
  // Failures are the point of several tests here; their error lines would only be noise.
  vi.spyOn(console, "error").mockImplementation(() => {});
  vi.spyOn(console, "warn").mockImplementation(() => {});
});
afterEach(() => vi.restoreAllMocks());

describe("enqueue", () => {
  it("records the task as received before sending it", async () => {
    const sent: unknown[] = [];
    const send = vi.spyOn(env.JOBS, "send").mockImplementation(async (body) => {
      sent.push(body);
      return undefined as never;
    });
    const result = await enqueue(env, noteTask, { text: "hello" }, { reference: "note:hello" });
    send.mockRestore();
    expect(result).toMatchObject({ status: "received", sent: true });
    expect(sent).toEqual([{ v: 1, taskId: result.taskId, kind: "test.note" }]);
    expect((await rowOf(result.taskId))?.status).toBe("received");
  });

  it("records one task per reference; a repeat of an unprocessed one is sent again, a processed one is not", async () => {
    const first = await record("note:dup");
    const again = await record("note:dup");
    expect(again).toEqual({ taskId: first.taskId, status: "received", sent: true });
    await deliver([{ taskId: first.taskId }]);
    const afterProcessing = await record("note:dup");
    expect(afterProcessing).toEqual({ taskId: first.taskId, status: "processed", sent: false });
    const count = await env.DB.prepare("SELECT count(*) AS n FROM queue_tasks WHERE reference = 'note:dup'").first<{
      n: number;
    }>();
    expect(count?.n).toBe(1);
  });

  it("keeps the task for the cron when the send fails, without failing the caller", async () => {
    vi.spyOn(env.JOBS, "send").mockRejectedValue(new Error("queue unavailable"));
    const result = await enqueue(env, noteTask, { text: "later" }, { reference: "note:send-fails" });
    expect(result).toMatchObject({ status: "received", sent: false });
    expect((await rowOf(result.taskId))?.status).toBe("received");
  });

  it("refuses a reference reused for other work", async () => {
    await record("note:one", "first");
    await expect(record("note:one", "second")).rejects.toThrow(/already names other work/);
  });

  it("refuses a payload that does not match the task's schema, writing nothing", async () => {
    await expect(enqueue(env, noteTask, { text: 42 } as never, { reference: "note:bad" })).rejects.toThrow();
    const count = await env.DB.prepare("SELECT count(*) AS n FROM queue_tasks WHERE reference = 'note:bad'").first<{
      n: number;
    }>();
    expect(count?.n).toBe(0);
  });
});

describe("consumer", () => {
  it("runs the handler, marks the task processed and acknowledges", async () => {
    const { taskId } = await record("note:run", "run");
    const result = await deliver([{ taskId }]);
    expect(handled).toEqual(["run"]);
    expect(result.explicitAcks).toEqual(["msg-0"]);
    expect(await rowOf(taskId)).toMatchObject({ status: "processed", attempts: 1, last_error: null });
  });

  it("acknowledges a duplicate delivery of a processed task without running it again", async () => {
    const { taskId } = await record("note:twice", "twice");
    await deliver([{ taskId }]);
    const result = await deliver([{ taskId }]);
    expect(handled).toEqual(["twice"]);
    expect(result.explicitAcks).toEqual(["msg-0"]);
  });

  it("retries a failing handler with growing backoff, recording the error", async () => {
    const { taskId } = await record("note:flaky", "flaky");
    failNext = 1;
    const result = await deliver([{ taskId, attempts: 3 }]);
    expect(result.explicitAcks).toEqual([]);
    expect(result.retryMessages).toHaveLength(1);
    const delay = result.delays[0] ?? 0;
    expect(delay).toBeGreaterThanOrEqual(32);
    expect(delay).toBeLessThanOrEqual(48);
    expect(await rowOf(taskId)).toMatchObject({ status: "received", attempts: 3, last_error: "transient failure" });
    await deliver([{ taskId, attempts: 4 }]);
    expect(await rowOf(taskId)).toMatchObject({ status: "processed", attempts: 4, last_error: null });
  });

  it("fails a task of unknown kind or bad payload permanently, and acknowledges a foreign message", async () => {
    const row = await env.DB.prepare(
      "INSERT INTO queue_tasks (id, kind, reference, payload, status, created_at, updated_at) VALUES ('task_unknownkind', 'test.nobody', 'ref:unknown', '{}', 'received', 0, 0) RETURNING id",
    ).first<{ id: string }>();
    const result = await deliver([{ taskId: row?.id as string }]);
    expect(result.explicitAcks).toEqual(["msg-0"]);
    expect((await rowOf("task_unknownkind"))?.status).toBe("failed");

    const batch = createMessageBatch("stratus-jobs", [
      { id: "foreign", timestamp: new Date(), attempts: 1, body: "hello" },
    ]);
    await consumeTasks(batch, runtimeOf(env, logger), registry);
    expect((await getQueueResult(batch, createExecutionContext())).explicitAcks).toEqual(["foreign"]);
  });

  it("retries with backoff when D1 fails, instead of failing the batch", async () => {
    const brokenDb = {
      prepare: () => {
        throw new Error("D1 down");
      },
    } as unknown as D1Database;
    const batch = createMessageBatch<TaskEnvelope>("stratus-jobs", [
      { id: "m-1", timestamp: new Date(), attempts: 2, body: { v: 1, taskId: "task_whatever", kind: "test.note" } },
    ]);
    await consumeTasks(batch, runtimeOf({ ...env, DB: brokenDb }, logger), registry);
    const result = await getQueueResult(batch, createExecutionContext());
    expect(result.retryMessages.map((message) => message.msgId)).toEqual(["m-1"]);
  });

  it("bounds the backoff", () => {
    expect(backoffSeconds(1, () => 0.5)).toBe(10);
    expect(backoffSeconds(2, () => 0.5)).toBe(20);
    expect(backoffSeconds(20, () => 0.5)).toBe(300);
    expect(backoffSeconds(20, () => 1)).toBe(360);
  });
});

describe("dead-letter queue", () => {
  it("marks a dead-lettered task failed through the Worker's queue handler", async () => {
    const { taskId } = await record("note:dead");
    const batch = createMessageBatch<TaskEnvelope>("stratus-jobs-dlq", [
      { id: "dead-0", timestamp: new Date(), attempts: 1, body: { v: 1, taskId, kind: "test.note" } },
    ]);
    const ctx = createExecutionContext();
    await worker.queue(batch, env);
    const result = await getQueueResult(batch, ctx);
    expect(result.explicitAcks).toEqual(["dead-0"]);
    expect(await rowOf(taskId)).toMatchObject({ status: "failed", last_error: "retries exhausted (dead-lettered)" });
  });

  it("never turns a processed task into a failed one", async () => {
    const { taskId } = await record("note:late-dead");
    await deliver([{ taskId }]);
    const batch = createMessageBatch<TaskEnvelope>("stratus-jobs-dlq", [
      { id: "dead-1", timestamp: new Date(), attempts: 1, body: { v: 1, taskId, kind: "test.note" } },
    ]);
    await worker.queue(batch, env);
    expect((await rowOf(taskId))?.status).toBe("processed");
  });
});

describe("maintenance", () => {
  it("sends a stuck task again each time it is stuck, and fails it only past the queue's retention", async () => {
    const { taskId } = await record("note:stuck");
    const sendBatch = vi.spyOn(env.JOBS, "sendBatch").mockResolvedValue(undefined as never);
    let now = Date.now();
    expect((await requeueStuckTasks(runtimeOf(), now)).requeued).toBe(0);
    for (let round = 1; round <= 3; round++) {
      now += STUCK_AFTER_MS + 1;
      await requeueStuckTasks(runtimeOf(), now);
      expect(await rowOf(taskId)).toMatchObject({ status: "received", requeues: round });
    }
    const sent = sendBatch.mock.calls.flatMap(([messages]) =>
      [...messages].map((message) => message.body as TaskEnvelope),
    );
    expect(sent.filter((body) => body.taskId === taskId)).toHaveLength(3);
    // A late copy is harmless: the consumer runs the task once.
    await deliver([{ taskId }]);
    await deliver([{ taskId }]);
    expect(handled).toEqual(["note:stuck"]);

    const { taskId: lost } = await record("note:lost");
    const last = await requeueStuckTasks(runtimeOf(), Date.now() + MAX_TASK_AGE_MS + 1);
    expect(last.givenUp).toBeGreaterThanOrEqual(1);
    expect(await rowOf(lost)).toMatchObject({ status: "failed" });
  });

  it("leaves a task alone while a consumer holds it", async () => {
    const { taskId } = await record("note:held");
    await env.DB.prepare("UPDATE queue_tasks SET leased_until = ?, updated_at = 0 WHERE id = ?")
      .bind(Date.now() + 60_000, taskId)
      .run();
    const sendBatch = vi.spyOn(env.JOBS, "sendBatch").mockResolvedValue(undefined as never);
    await requeueStuckTasks(runtimeOf());
    expect(sendBatch).not.toHaveBeenCalled();
    const result = await deliver([{ taskId }]);
    expect(handled).toEqual([]);
    expect(result.retryMessages).toHaveLength(1);
    expect(result.explicitAcks).toEqual([]);
  });

  it("purges processed tasks after the retention period only", async () => {
    const { taskId } = await record("note:old");
    await deliver([{ taskId }]);
    const processedAt = (await rowOf(taskId))?.processed_at as number;
    expect((await purgeProcessedTasks(env, processedAt + 1000)).deleted).toBe(0);
    await purgeProcessedTasks(env, processedAt + 8 * 24 * 60 * 60 * 1000);
    expect(await rowOf(taskId)).toBeNull();
  });
});

describe("maintenance at scale", () => {
  it("requeues at most 100 stuck tasks per run, the rest on the next", async () => {
    const old = Date.now() - STUCK_AFTER_MS - 60_000;
    const statements = Array.from({ length: 120 }, (_, i) =>
      env.DB.prepare(
        "INSERT INTO queue_tasks (id, kind, reference, payload, status, created_at, updated_at) VALUES (?, 'test.note', ?, '{\"text\":\"bulk\"}', 'received', ?, ?)",
      ).bind(`task_bulk${String(i).padStart(4, "0")}`, `note:bulk:${i}`, old, old),
    );
    await env.DB.batch(statements);
    const sent: number[] = [];
    vi.spyOn(env.JOBS, "sendBatch").mockImplementation(async (messages) => {
      sent.push([...messages].length);
      return undefined as never;
    });
    const first = await requeueStuckTasks(runtimeOf());
    const second = await requeueStuckTasks(runtimeOf());
    expect(first.requeued).toBe(100);
    expect(second.requeued).toBe(20);
    expect(sent[0]).toBe(100);
    const left = await env.DB.prepare(
      "SELECT count(*) AS n FROM queue_tasks WHERE reference LIKE 'note:bulk:%' AND requeues = 0",
    ).first<{ n: number }>();
    expect(left?.n).toBe(0);
  });
});
