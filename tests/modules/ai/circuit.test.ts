import { env } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import { testClock } from "../../../src/platform/clock";
import { resetCircuits } from "../../../src/platform/upstreams/circuit";
import { fund, openaiFor, scenario, usageRowsOf } from "../../helpers/ai";
import { api } from "../../helpers/client";
import { as, registerUser } from "../../helpers/identity";

afterEach(() => {
  testClock.reset();
  resetCircuits();
});

async function fundedClients(count: number) {
  return Promise.all(
    Array.from({ length: count }, async () => {
      const user = await registerUser();
      await fund(user.user.id, 10_000_000);
      return { user, client: openaiFor(user.tokens.accessToken) };
    }),
  );
}

describe("circuit breaker", () => {
  it("opens after 5 failed requests from several accounts, skips the provider, then half-opens after the cool-down", async () => {
    const users = await fundedClients(3);
    // Each request fails 3 times on OpenAI (then Claude answers): 5 requests, 15 failures, then it recovers.
    const openai = await scenario("openai", [...Array.from({ length: 15 }, () => ({ status: 500 })), {}]);
    const ask = (index: number) =>
      users[index % users.length]?.client.chat.completions.create({
        model: "gpt-4o-mini",
        messages: [{ role: "user", content: `Hi ${openai.marker}` }],
      });
    for (let i = 0; i < 5; i++) expect((await ask(i))?.model).toBe("claude-3-5-haiku");
    expect(await openai.requests()).toHaveLength(15);
    await ask(5); // open: OpenAI is not even tried
    expect(await openai.requests()).toHaveLength(15);
    testClock.advance(30_001);
    expect((await ask(6))?.model).toBe("gpt-4o-mini"); // half-open: one trial, which succeeds and closes it
    expect((await ask(7))?.model).toBe("gpt-4o-mini");
    expect(await openai.requests()).toHaveLength(17);
  });

  it("answers 503 with Retry-After when every deployment's circuit is open", async () => {
    const users = await fundedClients(3);
    const id = crypto.randomUUID();
    const openai = await scenario("openai", [{ status: 500 }], id);
    const anthropic = await scenario("anthropic", [{}], id);
    const ask = (index: number) =>
      users[index % users.length]?.client.chat.completions
        .create({ model: "gpt-4o-mini", messages: [{ role: "user", content: `Hi ${openai.marker}` }] })
        .withResponse()
        .catch((error: { status?: number; headers?: Headers }) => error);
    for (let i = 0; i < 5; i++) await ask(i); // OpenAI's circuit opens; Claude answers
    // Now Claude is overloaded too; OpenAI is skipped, so each failure is Claude's own.
    await scenario("anthropic", [{ status: 529 }], id);
    for (let i = 0; i < 5; i++) await ask(i);
    const refused = (await ask(0)) as { status?: number; headers?: Headers };
    expect(refused.status).toBe(503);
    expect(Number(refused.headers?.get("retry-after"))).toBeGreaterThan(0);
    expect(await openai.requests()).toHaveLength(15);
    // Scripting Claude anew restarted its record: 5 requests of 3 attempts each, then none.
    expect(await anthropic.requests()).toHaveLength(15);
  });

  it("cannot be opened by one account's hostile requests: another account's requests still reach the provider", async () => {
    const [hostile, victim] = await fundedClients(2);
    if (!hostile || !victim) throw new Error("no users");
    // A paying tenant (pro: 300 AI requests a minute), so that its own rate limit does not stop it first.
    await env.DB.prepare(
      "INSERT INTO plan_overrides (account_id, plan_id, set_by, created_at) VALUES (?, 'pro', 'test', 0)",
    )
      .bind(hostile.user.user.id)
      .run();
    // Bodies that fail upstream on one provider or on every one, and bodies nested 10 000 deep.
    const onOpenai = await scenario("openai", [{ status: 500 }]);
    const everywhere = crypto.randomUUID();
    await scenario("openai", [{ status: 503 }], everywhere);
    await scenario("anthropic", [{ status: 529 }], everywhere);
    const deep = `${'{"a":'.repeat(10_000)}{}${"}".repeat(10_000)}`;
    // More failed requests than the threshold (5), each of which would have counted before.
    for (let i = 0; i < 6; i++) {
      await hostile.client.chat.completions
        .create({ model: "gpt-4o-mini", messages: [{ role: "user", content: `x ${onOpenai.marker}` }] })
        .catch(() => {});
      await hostile.client.chat.completions
        .create({ model: "gpt-4o-mini", messages: [{ role: "user", content: `x [scenario:${everywhere}]` }] })
        .catch(() => {});
      const nested = await api("/v1/chat/completions", {
        headers: { ...as(hostile.user), "content-type": "application/json" },
        body: `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"x"}],"tools":[{"type":"function","function":{"name":"f","parameters":${deep}}}]}`,
        method: "POST",
      });
      expect(nested.status).toBe(400);
    }
    const answer = await victim.client.chat.completions.create({
      model: "gpt-4o-mini",
      messages: [{ role: "user", content: "Hello" }],
    });
    expect(answer.model).toBe("gpt-4o-mini");
    expect(answer.choices[0]?.message.content).toBe("Echo: Hello");
    const rows = await usageRowsOf(victim.user.user.id);
    expect(rows.every((row) => row.status !== "failed")).toBe(true);
    expect((await api("/v1/models", { headers: as(victim.user) })).status).toBe(200);
  }, 30_000);
});
