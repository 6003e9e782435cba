import { env } from "cloudflare:test";
import { z } from "@hono/zod-openapi";
import { createMiddleware } from "hono/factory";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { testClock } from "../../src/platform/clock";
import type { AppEnv } from "../../src/platform/context";
import {
  IDEMPOTENCY_LOCK_MS,
  IDEMPOTENCY_TTL_MS,
  purgeExpiredIdempotencyKeys,
} from "../../src/platform/idempotency/middleware";
import { defineRoute } from "../../src/platform/openapi";
import { expectProblem } from "../helpers/client";
import { testApp } from "../helpers/test-app";

/** A route that spends: it counts its runs, and can be told to fail or to hang. */
const ChargeSchema = z
  .object({ amount: z.number().int().positive(), outcome: z.enum(["ok", "fail", "refuse"]) })
  .strict();
const charge = defineRoute(
  {
    method: "post",
    path: "/test/charges",
    request: { body: { content: { "application/json": { schema: ChargeSchema } } } },
    responses: {
      201: {
        description: "charged",
        content: { "application/json": { schema: z.object({ run: z.number(), amount: z.number() }) } },
      },
    },
  },
  // Not rate limited: these tests move the clock and replay one principal's requests.
  { idempotent: true, errors: ["insufficient_credits"], rateLimit: false },
);

let runs = 0;
/** When set, the handler announces that it started and then waits to be released. */
let gate: { entered: () => void; release: Promise<void> } | undefined;

function holdHandler() {
  let entered: () => void = () => {};
  let release: () => void = () => {};
  const started = new Promise<void>((resolve) => {
    entered = resolve;
  });
  gate = { entered, release: new Promise<void>((resolve) => (release = resolve)) };
  return { started, release };
}
const { app, call } = testApp();
// Stands in for the auth middleware of the identity module: the principal comes from a header.
app.use(
  "/test/*",
  createMiddleware<AppEnv>(async (c, next) => {
    c.set("principal", { id: c.req.header("x-test-principal") ?? "usr_a", via: "session", platformRole: "user" });
    await next();
  }),
);
app.openapi(charge, async (c) => {
  const body = c.req.valid("json");
  runs += 1;
  if (gate) {
    const current = gate;
    gate = undefined;
    current.entered();
    await current.release;
  }
  if (body.outcome === "fail") throw new Error("upstream exploded");
  if (body.outcome === "refuse") return c.json({ run: runs, amount: -1 }, 402 as 201);
  c.header("Location", `/test/charges/${runs}`);
  return c.json({ run: runs, amount: body.amount }, 201);
});

const post = (key: string | undefined, body: unknown, principal = "usr_a") =>
  call("/test/charges", {
    method: "POST",
    body: JSON.stringify(body),
    headers: {
      "content-type": "application/json",
      "x-test-principal": principal,
      ...(key === undefined ? {} : { "idempotency-key": key }),
    },
  });

const problem = (response: Awaited<ReturnType<typeof call>>) => ({ ...response, body: response.body as unknown });

beforeEach(() => {
  runs = 0;
  gate = undefined;
});
afterEach(() => {
  testClock.reset();
  vi.restoreAllMocks();
});

describe("Idempotency-Key", () => {
  it("runs without a key every time", async () => {
    await post(undefined, { amount: 5, outcome: "ok" });
    await post(undefined, { amount: 5, outcome: "ok" });
    expect(runs).toBe(2);
  });

  it("replays the first answer to a repeat with the same key and body", async () => {
    const first = await post("key-replay", { amount: 5, outcome: "ok" });
    const second = await post("key-replay", { amount: 5, outcome: "ok" });
    expect(first.status).toBe(201);
    expect(second.status).toBe(201);
    expect(second.body).toEqual(first.body);
    expect(second.headers.get("idempotent-replayed")).toBe("true");
    expect(second.headers.get("location")).toBe(first.headers.get("location"));
    expect(second.headers.get("content-type")).toBe("application/json");
    expect(first.headers.get("idempotent-replayed")).toBeNull();
    expect(runs).toBe(1);
  });

  it("refuses the same key with a different body (409) and writes nothing new", async () => {
    await post("key-body", { amount: 5, outcome: "ok" });
    const reused = await post("key-body", { amount: 6, outcome: "ok" });
    expectProblem(problem(reused), 409, "idempotency_key_reused");
    expect(runs).toBe(1);
  });

  it("keeps keys per principal", async () => {
    await post("key-shared", { amount: 5, outcome: "ok" }, "usr_a");
    const other = await post("key-shared", { amount: 5, outcome: "ok" }, "usr_b");
    expect(other.headers.get("idempotent-replayed")).toBeNull();
    expect(runs).toBe(2);
  });

  it("answers 409 to a repeat while the first is still running", async () => {
    const { started, release } = holdHandler();
    const first = post("key-flight", { amount: 5, outcome: "ok" });
    await started;
    const repeat = await post("key-flight", { amount: 5, outcome: "ok" });
    expectProblem(problem(repeat), 409, "idempotency_key_in_use");
    expect(repeat.headers.get("retry-after")).toBe("1");
    release();
    expect((await first).status).toBe(201);
    expect(runs).toBe(1);
  });

  it("lets exactly one of two simultaneous first requests run", async () => {
    const answers = await Promise.all([
      post("key-race", { amount: 5, outcome: "ok" }),
      post("key-race", { amount: 5, outcome: "ok" }),
    ]);
    expect(runs).toBe(1);
    expect(answers.map((answer) => answer.status).sort()).toEqual([201, 409]);
  });

  it("lets a repeat take over a claim abandoned past its lock", async () => {
    const { started, release } = holdHandler();
    const first = post("key-abandoned", { amount: 5, outcome: "ok" });
    await started;
    testClock.advance(IDEMPOTENCY_LOCK_MS + 1000);
    const takeover = await post("key-abandoned", { amount: 5, outcome: "ok" });
    expect(takeover.status).toBe(201);
    release();
    await first;
    expect(runs).toBe(2);
  });

  it("does not keep server errors, so a retry runs again", async () => {
    vi.spyOn(console, "error").mockImplementation(() => {});
    const failed = await post("key-5xx", { amount: 5, outcome: "fail" });
    expectProblem(problem(failed), 500, "internal_error");
    const retried = await post("key-5xx", { amount: 5, outcome: "fail" });
    expect(retried.headers.get("idempotent-replayed")).toBeNull();
    expect(runs).toBe(2);
  });

  it("keeps client errors, which replay", async () => {
    const refused = await post("key-4xx", { amount: 5, outcome: "refuse" });
    expect(refused.status).toBe(402);
    const again = await post("key-4xx", { amount: 5, outcome: "refuse" });
    expect(again.status).toBe(402);
    expect(again.headers.get("idempotent-replayed")).toBe("true");
    expect(runs).toBe(1);
  });

  it("forgets a key after 24 hours, and the cron purges it", async () => {
    await post("key-expiry", { amount: 5, outcome: "ok" });
    testClock.advance(IDEMPOTENCY_TTL_MS + 1);
    const later = await post("key-expiry", { amount: 7, outcome: "ok" });
    expect(later.status).toBe(201);
    expect(runs).toBe(2);
    testClock.advance(IDEMPOTENCY_TTL_MS + 1);
    const purged = await purgeExpiredIdempotencyKeys(env, Date.now() + 3 * IDEMPOTENCY_TTL_MS);
    expect(purged).toBeGreaterThanOrEqual(1);
    const left = await env.DB.prepare("SELECT count(*) AS n FROM idempotency_keys WHERE key = 'key-expiry'").first<{
      n: number;
    }>();
    expect(left?.n).toBe(0);
  });

  it("refuses a malformed key with 400 and writes nothing", async () => {
    const response = await post("has spaces", { amount: 5, outcome: "ok" });
    const body = expectProblem(problem(response), 400, "validation_failed");
    expect(body.errors).toEqual([{ path: "header.idempotency-key", message: expect.any(String) }]);
    expect(runs).toBe(0);
    const rows = await env.DB.prepare("SELECT count(*) AS n FROM idempotency_keys WHERE key = 'has spaces'").first<{
      n: number;
    }>();
    expect(rows?.n).toBe(0);
  });

  it("documents the header in the route contract", () => {
    expect(
      JSON.stringify(
        app.getOpenAPI31Document({ openapi: "3.1.0", info: { title: "t", version: "1" } }).paths?.["/test/charges"],
      ),
    ).toContain("idempotency-key");
  });
});
