import { env } from "cloudflare:test";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { testClock } from "../../src/platform/clock";
import { countingEnv, IoCounter } from "../../src/platform/io-count";
import { createLogger } from "../../src/platform/logger";
import { consultLeased } from "../../src/platform/rate-limit/leases";

/** `env` whose Durable Object calls are counted (sequential round trips: src/platform/io-count.ts). */
function countingLimiter() {
  const counter = new IoCounter();
  return { env: countingEnv(env, counter), calls: () => counter.snapshot().do };
}

const logger = createLogger("error", {});
const background: Promise<unknown>[] = [];
const waitUntil = (work: Promise<unknown>) => void background.push(work);
let serial = 0;
/** A key of its own per test; a window of `limit` a day, so that nothing refills meanwhile. */
const checkOf = (limit: number) => ({
  key: `usr:lease-${Date.now()}-${serial++}`,
  windows: [{ name: "default", limit, windowMs: 86_400_000 }],
});

beforeEach(() => testClock.freeze());
afterEach(async () => {
  await Promise.all(background.splice(0));
  testClock.reset();
});

describe("request limits from leases", () => {
  it("decides a busy key in the isolate: far fewer calls than requests, `remaining` exact", async () => {
    const { env: counting, calls } = countingLimiter();
    const check = checkOf(1_000);
    const remaining: number[] = [];
    for (let index = 0; index < 200; index++) {
      const consulted = await consultLeased(counting, [check], "fail_open", logger, waitUntil);
      expect(consulted?.verdict.allowed).toBe(true);
      remaining.push(consulted?.verdict.remaining ?? -1);
      await Promise.all(background.splice(0));
    }
    expect(remaining).toEqual(Array.from({ length: 200 }, (_, index) => 999 - index));
    expect(calls()).toBeLessThan(40);
  });

  it("never lets more through than the limit, whatever the concurrency", async () => {
    const check = checkOf(30);
    const verdicts = await Promise.all(
      Array.from({ length: 100 }, () => consultLeased(env, [check], "fail_open", logger, waitUntil)),
    );
    expect(verdicts.filter((consulted) => consulted?.verdict.allowed)).toHaveLength(30);
    await Promise.all(background.splice(0));
    const again = await consultLeased(env, [check], "fail_open", logger, waitUntil);
    expect(again?.verdict.allowed).toBe(false);
  });

  it("gives back what an expired lease left unused with the next one", async () => {
    const check = checkOf(100);
    for (let index = 0; index < 20; index++) {
      await consultLeased(env, [check], "fail_open", logger, waitUntil);
      await Promise.all(background.splice(0));
    }
    // The lease has taken more than the 20 handed out; once it expires, the rest goes back.
    testClock.advance(2_000);
    const next = await consultLeased(env, [check], "fail_open", logger, waitUntil);
    expect(next?.verdict.remaining).toBe(100 - 21);
    const stored = await env.RATE_LIMITER.getByName(check.key).decide(check.key, check.windows);
    // The object's own count: the 22 requests, and what the new lease holds.
    expect(stored.remaining).toBeLessThanOrEqual(100 - 22);
    expect(stored.remaining).toBeGreaterThanOrEqual(100 - 22 - 10);
  });

  it("a refused key is asked again on every request, each refusal counted by its object", async () => {
    const { env: counting, calls } = countingLimiter();
    const check = checkOf(2);
    const verdicts = [];
    for (let index = 0; index < 5; index++) {
      verdicts.push((await consultLeased(counting, [check], "fail_open", logger, waitUntil))?.verdict.allowed);
    }
    expect(verdicts).toEqual([true, true, false, false, false]);
    expect(calls()).toBe(5);
  });
});

describe("request limits from leases, when the limiter cannot be reached", () => {
  it("judges a shared renewal that failed by each request's own policy", async () => {
    const down = {
      ...env,
      RATE_LIMITER: { getByName: () => ({ decide: () => Promise.reject(new Error("limiter down")) }) },
    } as unknown as Env;
    const check = checkOf(100);
    const [open, closed] = await Promise.allSettled([
      consultLeased(down, [check], "fail_open", logger, waitUntil),
      consultLeased(down, [check], "fail_closed", logger, waitUntil),
    ]);
    expect(open).toEqual({ status: "fulfilled", value: undefined });
    expect(closed).toMatchObject({ status: "rejected", reason: { code: "limiter_unavailable" } });
  });
});
