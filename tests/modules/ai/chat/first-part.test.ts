import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { configOf } from "../../../../src/env";
import { firstPart } from "../../../../src/modules/ai/chat/first-part";
import { deploymentsOf } from "../../../../src/modules/ai/registry";
import { UpstreamError } from "../../../../src/platform/upstreams/error";
import { type Step, scenario } from "../../../helpers/ai";

/**
 * The start of a chat attempt against the simulators, with short timeouts: an upstream slow to
 * answer with its headers fails on the connect timeout, one slow to send its first part on the
 * first-token timeout; both are retryable, and both abort the upstream request.
 */
const config = { ...configOf(env), AI_CONNECT_TIMEOUT_MS: 300, AI_FIRST_TOKEN_TIMEOUT_MS: 900 };

async function start(provider: "openai" | "anthropic", step: Step) {
  const model = deploymentsOf(config, provider === "openai" ? "gpt-4o-mini" : "claude-3-5-haiku", ["chat"])[0];
  if (!model) throw new Error("no deployment");
  const script = await scenario(provider, [step]);
  const started = Date.now();
  const outcome = await firstPart(
    config,
    { model, signal: new AbortController().signal, started },
    { messages: [{ role: "user", content: `Hi ${script.marker}` }], maxTokens: 32, n: 1 },
  ).then(
    (opened) => ({ opened, error: null }),
    (error: unknown) => ({ opened: null, error }),
  );
  return { ...outcome, elapsed: Date.now() - started, script };
}

describe("starting a chat attempt", () => {
  for (const provider of ["openai", "anthropic"] as const) {
    it(`gives up on ${provider} when its headers take longer than the connect timeout`, async () => {
      const { error, elapsed, script } = await start(provider, { delayMs: 2_000 });
      expect(error).toBeInstanceOf(UpstreamError);
      expect((error as UpstreamError).retryable).toBe(true);
      expect((error as UpstreamError).message).toBe(`${provider}: no response within 300 ms`);
      expect(elapsed).toBeLessThan(900);
      await expect.poll(async () => (await script.requests())[0]?.aborted).toBe(true);
    });

    it(`gives up on ${provider} when headers came but no part within the first-token timeout`, async () => {
      const { error, elapsed } = await start(provider, { tokenDelayMs: 2_000 });
      expect((error as UpstreamError).message).toBe(`${provider}: no first token within 900 ms`);
      expect(elapsed).toBeGreaterThanOrEqual(900);
      expect(elapsed).toBeLessThan(1_800);
    });
  }

  it("answers the first part of an upstream within both limits", async () => {
    const { opened, error } = await start("openai", { reply: "Quick" });
    expect(error).toBeNull();
    expect(opened?.first).toMatchObject({ type: "text" });
    opened?.abort.abort();
  });
});
