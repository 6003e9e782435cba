import { afterEach, describe, expect, it } from "vitest";
import { resetCircuits } from "../../src/modules/ai/circuit";
import { testClock } from "../../src/platform/clock";
import { fund, openaiFor, scenario, usageRowsOf } from "../helpers/ai";
import { registerUser } from "../helpers/identity";

afterEach(() => {
  testClock.reset();
  resetCircuits();
});

describe("circuit breaker", () => {
  it("opens after 5 consecutive failures, skips the provider, then half-opens after the cool-down", async () => {
    const user = await registerUser();
    await fund(user.user.id, 10_000_000);
    const client = openaiFor(user.tokens.accessToken);
    // OpenAI fails 5 times, then recovers.
    const openai = await scenario("openai", [
      { status: 500 },
      { status: 500 },
      { status: 500 },
      { status: 500 },
      { status: 500 },
      {},
    ]);
    const ask = () =>
      client.chat.completions.create({
        model: "gpt-4o-mini",
        messages: [{ role: "user", content: `Hi ${openai.marker}` }],
      });
    await ask(); // 3 failures, answered by the fallback
    await ask(); // 2 more: the circuit opens, the fallback answers
    expect(await openai.requests()).toHaveLength(5);
    await ask(); // open: OpenAI is not even tried
    expect(await openai.requests()).toHaveLength(5);
    testClock.advance(30_001);
    await ask(); // half-open: one trial, which succeeds and closes the circuit
    expect(await openai.requests()).toHaveLength(6);
    await ask();
    expect(await openai.requests()).toHaveLength(7);
    const models = (await usageRowsOf(user.user.id)).map((row) => row.model);
    expect(models).toEqual(["claude-3-5-haiku", "claude-3-5-haiku", "claude-3-5-haiku", "gpt-4o-mini", "gpt-4o-mini"]);
  });

  it("answers 503 with Retry-After when every deployment's circuit is open", async () => {
    const user = await registerUser();
    await fund(user.user.id, 10_000_000);
    const client = openaiFor(user.tokens.accessToken);
    const id = crypto.randomUUID();
    const openai = await scenario("openai", [{ status: 500 }], id);
    await scenario("anthropic", [{ status: 500 }], id);
    const ask = () =>
      client.chat.completions
        .create({
          model: "gpt-4o-mini",
          messages: [{ role: "user", content: `Hi ${openai.marker}` }],
        })
        .withResponse()
        .catch((error: { status?: number; headers?: Headers }) => error);
    await ask();
    await ask();
    const refused = (await ask()) as { status?: number; headers?: Headers };
    expect(refused.status).toBe(503);
    expect(Number(refused.headers?.get("retry-after"))).toBeGreaterThan(0);
    expect((await openai.requests()).length).toBe(5);
  });
});
