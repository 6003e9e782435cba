import { createExecutionContext, createScheduledController, env, waitOnExecutionContext } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import { version } from "../../../package.json";
import worker from "../../../src/index";
import { testClock } from "../../../src/platform/clock";
import { api, expectProblem } from "../../helpers/client";
import { testApp } from "../../helpers/test-app";

afterEach(() => {
  testClock.reset();
  vi.restoreAllMocks();
});

const failing = (message: string) => {
  throw new Error(message);
};

describe("GET /health", () => {
  it("answers 200 with the version", async () => {
    const response = await api("/health");
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ status: "ok", version });
  });
});

describe("GET /health/ready", () => {
  it("answers 200 when D1, KV and R2 answer, with a latency for each", async () => {
    const response = await api<{ status: string; checks: Record<string, { status: string; latencyMs: number }> }>(
      "/health/ready",
    );
    expect(response.status).toBe(200);
    expect(response.body.status).toBe("ready");
    for (const name of ["d1", "kv", "r2"]) {
      expect(response.body.checks[name]).toEqual({ status: "pass", latencyMs: expect.any(Number) });
    }
    expect(response.headers.get("cache-control")).toBe("no-store");
  });

  it("reports a check that does not answer as timed out", async () => {
    vi.spyOn(console, "error").mockImplementation(() => {});
    const { call } = testApp();
    const hangingKv = { get: () => new Promise(() => {}) } as unknown as KVNamespace;
    const response = await call("/health/ready", {}, { ...env, CACHE: hangingKv });
    expect(response.status).toBe(503);
    expect((response.body.checks as Record<string, unknown>).kv).toMatchObject({
      status: "fail",
      error: "no answer within 2000 ms",
    });
  });

  it("answers 503 problem+json naming the failing checks", async () => {
    vi.spyOn(console, "error").mockImplementation(() => {});
    const { call } = testApp();
    const brokenD1 = { prepare: () => failing("D1 is unreachable") } as unknown as D1Database;
    const brokenR2 = { head: () => Promise.reject(new Error("R2 timed out")) } as unknown as R2Bucket;
    const response = await call("/health/ready", {}, { ...env, DB: brokenD1, FILES: brokenR2 });
    const problem = expectProblem({ ...response, body: response.body as unknown }, 503, "not_ready");
    expect(problem.detail).toBe("Failing: d1, r2.");
    expect(problem.checks).toMatchObject({
      d1: { status: "fail", error: "unreachable" },
      kv: { status: "pass" },
      r2: { status: "fail", error: "unreachable" },
    });
    // The bindings' own messages stay in the log.
    expect(response.text).not.toContain("D1 is unreachable");
    expect(response.text).not.toContain("R2 timed out");
  });

  it("reports the queue's pulse once a heartbeat went through the real queue and consumer", async () => {
    const before = await api<{ queue: { status: string } }>("/health/ready");
    expect(before.body.queue).toEqual({ status: "warn", lastHeartbeatAt: null });

    const ctx = createExecutionContext();
    await worker.scheduled(createScheduledController({ cron: "*/5 * * * *" }), env, ctx);
    await waitOnExecutionContext(ctx);

    await expect
      .poll(async () => (await api<{ queue: { status: string } }>("/health/ready")).body.queue.status, {
        timeout: 10_000,
        interval: 200,
      })
      .toBe("pass");

    testClock.advance(16 * 60 * 1000);
    const stale = await api<{ queue: { status: string; lastHeartbeatAt: string } }>("/health/ready");
    expect(stale.status).toBe(200);
    expect(stale.body.queue.status).toBe("warn");
    expect(stale.body.queue.lastHeartbeatAt).toMatch(/Z$/);
  });
});
