import { env } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import { configOf } from "../../../src/env";
import { withFallbacks } from "../../../src/modules/ai/fallbacks";
import { deploymentsOf, type Model, type ProviderId } from "../../../src/modules/ai/registry";
import { testClock } from "../../../src/platform/clock";
import { createLogger } from "../../../src/platform/logger";
import {
  abandonTrial,
  admit,
  MIN_ACCOUNTS,
  recordFailure,
  resetCircuits,
} from "../../../src/platform/upstreams/circuit";
import { UpstreamError } from "../../../src/platform/upstreams/error";

/**
 * Who and what may open a provider's circuit (circuit.ts): faults of the provider only, at most
 * once per request and provider, from several accounts each counted for its share; a failure
 * the content could have caused, where the provider works for others, is the request's fault.
 * The rule travels with the circuit when it moves into the resilience engine: so do these tests.
 */

const settings = { threshold: 5, cooldownMs: 30_000 };
/** gpt-4o-mini on OpenAI, then its fallback claude-3-5-haiku on Anthropic. */
const deployments = deploymentsOf(configOf(env), "gpt-4o-mini", ["chat"]);
const logger = createLogger("error");

afterEach(() => {
  resetCircuits();
  testClock.reset();
});

const fault = (status?: number) =>
  new UpstreamError("upstream fault", { retryable: true, status, retryAfterMs: 0, unreachable: status === undefined });

/** One request of `accountId`; `outcome` decides each attempt by provider. Resolves to how it ended. */
async function request(accountId: string, outcome: (model: Model) => Error | "ok") {
  let attempts = 0;
  try {
    await withFallbacks(
      deployments,
      new AbortController().signal,
      { logger, circuit: settings, accountId },
      async ({ model }) => {
        attempts++;
        const result = outcome(model);
        if (result !== "ok") throw result;
        return model.provider;
      },
    );
    return { ok: true, attempts };
  } catch (error) {
    return { ok: false, attempts, error };
  }
}

/** Called only while a circuit is closed or in its cool-down, where `admit` changes nothing. */
const isOpen = (provider: ProviderId) => admit(`ai:${provider}`, settings) === null;
const openaiFails =
  (status = 500) =>
  (model: Model) =>
    model.provider === "openai" ? fault(status) : "ok";

describe("the circuit of a provider", () => {
  it("opens when the run of failures comes from enough accounts", async () => {
    for (let i = 0; i < settings.threshold - 1; i++) await request(`acc_${i % MIN_ACCOUNTS}`, openaiFails());
    expect(isOpen("openai")).toBe(false);
    await request("acc_last", openaiFails());
    expect(isOpen("openai")).toBe(true);
  });

  it("never opens for one account alone, however often it fails", async () => {
    for (let i = 0; i < 20; i++) await request("acc_hostile", openaiFails());
    expect(isOpen("openai")).toBe(false);
    expect(await request("acc_other", () => "ok")).toMatchObject({ ok: true, attempts: 1 });
  });

  it("counts a request once, however many attempts it made", async () => {
    const accounts = ["a", "b", "c"];
    // 4 requests of 3 attempts each: 12 failed attempts, 4 failures.
    for (let i = 0; i < 4; i++)
      expect(await request(accounts[i % 3] as string, openaiFails())).toMatchObject({ attempts: 4 });
    expect(isOpen("openai")).toBe(false);
  });

  it("charges to the request a failure its content may cause where the provider works for others", async () => {
    expect(await request("acc_served", () => "ok")).toMatchObject({ ok: true });
    // The hostile bodies fail on OpenAI alone, and on both providers.
    for (let i = 0; i < 10; i++) await request(`acc_${i}`, openaiFails());
    for (let i = 0; i < 10; i++) await request(`acc_${i}`, () => fault(500));
    expect(isOpen("openai")).toBe(false);
    expect(isOpen("anthropic")).toBe(false);
  });

  it("counts the same failures once the provider has served nobody else for a cool-down: an outage", async () => {
    expect(await request("acc_served", () => "ok")).toMatchObject({ ok: true });
    testClock.advance(settings.cooldownMs + 1);
    for (let i = 0; i < settings.threshold; i++) await request(`acc_${i}`, () => fault(500));
    expect(isOpen("openai")).toBe(true);
    expect(isOpen("anthropic")).toBe(true);
  });

  it("counts failures no content causes (overloaded) even where the provider works for others", async () => {
    expect(await request("acc_served", () => "ok")).toMatchObject({ ok: true });
    for (let i = 0; i < settings.threshold; i++) await request(`acc_${i}`, openaiFails(529));
    expect(isOpen("openai")).toBe(true);
  });

  it("counts each account for at most its share of the threshold", async () => {
    for (let i = 0; i < 10; i++) await request("acc_a", openaiFails());
    for (let i = 0; i < 10; i++) await request("acc_b", openaiFails());
    await request("acc_c", openaiFails()); // shares: 2 + 2 + 1 = 5
    expect(isOpen("openai")).toBe(true);
  });

  it("needs several accounts even when the threshold is 1", async () => {
    const one = { threshold: 1, cooldownMs: 30_000 };
    const fails = async (accountId: string) =>
      withFallbacks(deployments.slice(0, 1), new AbortController().signal, { logger, circuit: one, accountId }, () =>
        Promise.reject(fault(500)),
      ).catch(() => {});
    await fails("acc_a");
    await fails("acc_b");
    expect(admit("ai:openai", one)).toBe("closed");
    await fails("acc_c");
    expect(admit("ai:openai", one)).toBe(null);
  });

  it("still opens when no provider could be reached at all: no request causes that", async () => {
    for (let i = 0; i < settings.threshold; i++) await request(`acc_${i}`, () => fault(undefined));
    expect(isOpen("openai")).toBe(true);
    expect(isOpen("anthropic")).toBe(true);
  });

  it("never counts a refusal of the request's content or an error of ours, and retries neither", async () => {
    const refusal = new UpstreamError("refused", { retryable: false, status: 400 });
    for (let i = 0; i < 10; i++) {
      expect(await request(`acc_${i}`, () => refusal)).toMatchObject({ ok: false, attempts: 1 });
      expect(await request(`acc_${i}`, () => new TypeError("a bug of ours"))).toMatchObject({ ok: false, attempts: 1 });
    }
    expect(isOpen("openai")).toBe(false);
  });

  it("counts refused credentials or model names (401, 403, 404) as the deployment's fault", async () => {
    for (let i = 0; i < settings.threshold; i++) await request(`acc_${i}`, openaiFails(401));
    expect(isOpen("openai")).toBe(true);
  });

  it("half-opens after the cool-down: a success closes it, a failure opens it again", async () => {
    for (let i = 0; i < settings.threshold; i++) await request(`acc_${i}`, openaiFails());
    expect(isOpen("openai")).toBe(true);
    testClock.advance(settings.cooldownMs + 1);
    await request("acc_trial", openaiFails()); // the trial fails: open again
    expect(isOpen("openai")).toBe(true);
    testClock.advance(settings.cooldownMs + 1);
    expect(await request("acc_trial", () => "ok")).toMatchObject({ ok: true, attempts: 1 });
    expect(admit("ai:openai", settings)).toBe("closed");
  });

  it("gives a trial back when its request is to blame: the next request may try", async () => {
    for (let i = 0; i < settings.threshold; i++) await request(`acc_${i}`, openaiFails());
    testClock.advance(settings.cooldownMs + 1);
    await request("acc_other", () => "ok"); // the trial: it closes the circuit
    for (let i = 0; i < settings.threshold; i++) await request(`acc_${i}`, openaiFails(503));
    expect(isOpen("openai")).toBe(true);
    testClock.advance(settings.cooldownMs - 1_000);
    await request("acc_x", (model) => (model.provider === "anthropic" ? "ok" : fault(503))); // Claude serves others
    testClock.advance(2_000);
    await request("acc_trial", () => fault(500)); // the trial fails everywhere; Claude works for others
    expect(admit("ai:openai", settings)).toBe("trial");
  });

  it("lets only the trial's holder open the circuit again", async () => {
    for (let i = 0; i < settings.threshold; i++) await request(`acc_${i}`, openaiFails());
    testClock.advance(settings.cooldownMs + 1);
    expect(admit("ai:openai", settings)).toBe("trial"); // someone holds the trial
    recordFailure("ai:openai", settings, "acc_late", false); // a request from before the opening
    abandonTrial("ai:openai"); // the holder's client left: the cool-down is over, another may try
    expect(admit("ai:openai", settings)).toBe("trial");
    recordFailure("ai:openai", settings, "acc_holder", true); // that trial failed: open again
    testClock.advance(settings.cooldownMs - 1);
    expect(admit("ai:openai", settings)).toBe(null);
  });
});
