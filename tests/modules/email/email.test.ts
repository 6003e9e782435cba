import { createExecutionContext, createMessageBatch, env, getQueueResult } from "cloudflare:test";
import { afterEach, describe, expect, inject, it, vi } from "vitest";
import { loggerOf } from "../../../src/env";
import { deliverEmailTask } from "../../../src/modules/email/consumers";
import { sendEmail } from "../../../src/modules/email/service";
import { consumeTasks, taskRegistry } from "../../../src/platform/queue/consumer";
import type { TaskEnvelope } from "../../../src/platform/queue/tasks";
import { api, expectProblem } from "../../helpers/client";
import { capturedLogs } from "../../helpers/logs";
import { runtimeOf } from "../../helpers/runtime";
import { testApp } from "../../helpers/test-app";

afterEach(() => vi.restoreAllMocks());

const fake = inject("fakeUpstreamUrl");
const registry = taskRegistry([deliverEmailTask]);

/** Writes a message to the outbox without letting the real consumer deliver it first. */
async function queueMessage(to: string) {
  vi.spyOn(env.JOBS, "send").mockResolvedValue(undefined as never);
  const id = await sendEmail(runtimeOf(), to, "resetPassword", { name: "Ada", token: "secret-token-123" });
  vi.mocked(env.JOBS.send).mockRestore();
  const task = await env.DB.prepare("SELECT id FROM queue_tasks WHERE reference = ?")
    .bind(`email:${id}`)
    .first<{ id: string }>();
  return { outboxId: id, taskId: task?.id as string };
}

async function deliverWith(bindings: Record<string, unknown>, taskId: string) {
  const batch = createMessageBatch<TaskEnvelope>("stratus-jobs", [
    { id: "m", timestamp: new Date(), attempts: 1, body: { v: 1, taskId, kind: deliverEmailTask.kind } },
  ]);
  await consumeTasks(batch, runtimeOf({ ...env, ...bindings } as Env), registry);
  return getQueueResult(batch, createExecutionContext());
}

const outboxRow = (id: string) =>
  env.DB.prepare("SELECT * FROM email_outbox WHERE id = ?").bind(id).first<Record<string, unknown>>();

describe("Resend provider", () => {
  it("sends with the outbox id as idempotency key, then clears the bodies", async () => {
    const prefix = `/resend-${crypto.randomUUID()}`;
    await fetch(`${fake}/__control/script`, {
      method: "POST",
      body: JSON.stringify({ method: "POST", path: `${prefix}/emails`, status: 200, body: { id: "re_msg_1" } }),
    });
    const { outboxId, taskId } = await queueMessage("ada@example.com");
    const result = await deliverWith(
      { EMAIL_PROVIDER: "resend", RESEND_API_KEY: "re_test_key", RESEND_BASE_URL: `${fake}${prefix}` },
      taskId,
    );
    expect(result.explicitAcks).toEqual(["m"]);
    const calls = (await (await fetch(`${fake}/__control/calls?prefix=${prefix}`)).json()) as {
      headers: Record<string, string>;
      body: string;
    }[];
    expect(calls).toHaveLength(1);
    expect(calls[0]?.headers.authorization).toBe("Bearer re_test_key");
    expect(calls[0]?.headers["idempotency-key"]).toBe(outboxId);
    expect(JSON.parse(calls[0]?.body ?? "{}")).toMatchObject({
      to: ["ada@example.com"],
      subject: "Reset your password",
      text: expect.stringContaining("secret-token-123"),
    });
    expect(await outboxRow(outboxId)).toMatchObject({
      status: "sent",
      provider: "resend",
      provider_message_id: "re_msg_1",
      text_body: null,
      html_body: null,
    });
  });

  it("leaves the message queued and retries when the provider fails", async () => {
    vi.spyOn(console, "warn").mockImplementation(() => {});
    const prefix = `/resend-${crypto.randomUUID()}`;
    await fetch(`${fake}/__control/script`, {
      method: "POST",
      body: JSON.stringify({ method: "POST", path: `${prefix}/emails`, status: 500, body: { message: "down" } }),
    });
    const { outboxId, taskId } = await queueMessage("grace@example.com");
    const result = await deliverWith(
      { EMAIL_PROVIDER: "resend", RESEND_API_KEY: "re_test_key", RESEND_BASE_URL: `${fake}${prefix}` },
      taskId,
    );
    expect(result.retryMessages.map((message) => message.msgId)).toEqual(["m"]);
    expect(await outboxRow(outboxId)).toMatchObject({
      status: "queued",
      text_body: expect.stringContaining("secret-token-123"),
    });
  });

  it("keeps the key out of what it logs and stores when Resend echoes the request in its error", async () => {
    const prefix = `/resend-${crypto.randomUUID()}`;
    const apiKey = "re_hostile_test_key_0123456789";
    await fetch(`${fake}/__control/script`, {
      method: "POST",
      body: JSON.stringify({ method: "POST", path: `${prefix}/emails`, status: 400, echoHeaders: true }),
    });
    const logs = capturedLogs();
    const { taskId } = await queueMessage("echo@example.com");
    const bindings = { EMAIL_PROVIDER: "resend", RESEND_API_KEY: apiKey, RESEND_BASE_URL: `${fake}${prefix}` };
    const hostileEnv = { ...env, ...bindings, LOG_LEVEL: "debug" } as Env;
    const batch = createMessageBatch<TaskEnvelope>("stratus-jobs", [
      { id: "m", timestamp: new Date(), attempts: 1, body: { v: 1, taskId, kind: deliverEmailTask.kind } },
    ]);
    await consumeTasks(batch, runtimeOf(hostileEnv, loggerOf(hostileEnv)), registry);
    expect(logs.text()).toContain("resend answered 400");
    expect(logs.text()).toContain("[redacted]");
    expect(logs.text()).not.toContain(apiKey);
    const stored = await env.DB.prepare("SELECT last_error FROM queue_tasks WHERE id = ?")
      .bind(taskId)
      .first<string>("last_error");
    expect(stored ?? "").not.toContain(apiKey);
  });

  it("is refused without an API key", async () => {
    vi.spyOn(console, "error").mockImplementation(() => {});
    const { call } = testApp();
    const response = await call("/health", {}, { ...env, EMAIL_PROVIDER: "resend" } as Env);
    expect(response.status).toBe(500);
    expect(response.text).toContain("RESEND_API_KEY");
  });
});

describe("GET /v1/dev/outbox", () => {
  it("does not exist outside development", async () => {
    expectProblem(await api("/v1/dev/outbox"), 404, "not_found");
  });

  it("lists messages, newest first, in development", async () => {
    const { outboxId } = await queueMessage("dev@example.com");
    const { call } = testApp();
    const development = { ...env, ENVIRONMENT: "development" } as Env;
    // A deployment that kept ENVIRONMENT=development still hides it: only local hosts see it.
    expect((await call("/v1/dev/outbox", {}, development)).status).toBe(404);
    const response = await call("http://localhost:8787/v1/dev/outbox?limit=1", {}, development);
    expect(response.status).toBe(200);
    const body = response.body as unknown as {
      items: { id: string; to: string; text: string }[];
      nextCursor: string | null;
    };
    expect(body.items[0]).toMatchObject({
      id: outboxId,
      to: "dev@example.com",
      text: expect.stringContaining("reset-password"),
    });
  });
});

describe("undeliverable email", () => {
  it("is marked failed with its bodies cleared when its task is dead-lettered", async () => {
    vi.spyOn(console, "error").mockImplementation(() => {});
    const { outboxId, taskId } = await queueMessage("lost@example.com");
    const { default: worker } = await import("../../../src/index");
    const batch = createMessageBatch<TaskEnvelope>("stratus-jobs-dlq", [
      { id: "dead", timestamp: new Date(), attempts: 1, body: { v: 1, taskId, kind: deliverEmailTask.kind } },
    ]);
    await worker.queue(batch, env);
    expect(await outboxRow(outboxId)).toMatchObject({ status: "failed", text_body: null, html_body: null });
  });
});
