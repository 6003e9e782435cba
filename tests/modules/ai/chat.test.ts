import { env } from "cloudflare:test";
import OpenAI from "openai";
import { describe, expect, it } from "vitest";
import { eventually, fund, openaiFor, purchasedBalance, scenario, usageRowsOf } from "../../helpers/ai";
import { api } from "../../helpers/client";
import { as, registerUser } from "../../helpers/identity";
import { drainWallet } from "../../helpers/wallet";

/** gpt-4o-mini: US$0.15 and US$0.60 per million tokens = millicredits per token. */
const chargeOf = (prompt: number, completion: number) => Math.ceil(prompt * 0.15 + completion * 0.6 - 1e-9);

async function fundedUser(millicredits = 10_000_000) {
  const user = await registerUser();
  await fund(user.user.id, millicredits);
  return { user, client: openaiFor(user.tokens.accessToken) };
}

describe("GET /v1/models", () => {
  it("lists the configured models with capabilities and prices, filterable", async () => {
    const { client } = await fundedUser();
    const models = await client.models.list();
    const ids = models.data.map((model) => model.id);
    expect(ids).toEqual(expect.arrayContaining(["gpt-4o-mini", "claude-3-5-haiku"]));
    const listed = await api<{ data: { capabilities: string[]; pricing: unknown }[] }>("/v1/models?capability=vision", {
      headers: as((await fundedUser()).user),
    });
    expect(listed.body.data.every((model) => model.capabilities.includes("vision"))).toBe(true);
    expect(listed.body.data[0]?.pricing).toBeDefined();
  });
});

describe("POST /v1/chat/completions", () => {
  it("answers through the official client, charging exactly what the upstream reports", async () => {
    const { user, client } = await fundedUser();
    const { data: completion, response } = await client.chat.completions
      .create({ model: "gpt-4o-mini", messages: [{ role: "user", content: "Hello there" }] })
      .withResponse();
    expect(completion.choices[0]?.message.content).toBe("Echo: Hello there");
    const usage = completion.usage as OpenAI.CompletionUsage & { cost_millicredits: number };
    const charged = chargeOf(usage.prompt_tokens, usage.completion_tokens);
    expect(usage.cost_millicredits).toBe(charged);
    expect(response.headers.get("x-stratus-cost-millicredits")).toBe(String(charged));
    expect(response.headers.get("x-request-id")).toBeTruthy();
    // The steps of the answer's time, for whoever investigates a slow one.
    const timing = response.headers.get("server-timing") ?? "";
    for (const step of ["limit", "hold", "upstream", "handler"])
      expect(timing).toMatch(new RegExp(`${step};dur=[\\d.]+`));
    const [row] = await eventually(
      () => usageRowsOf(user.user.id),
      (rows) => rows.length === 1,
    );
    expect(await purchasedBalance(user.user.id)).toBe(10_000_000 - charged);
    expect(row).toMatchObject({ status: "completed", charged, model: "gpt-4o-mini" });
  });

  it("streams chunks the SDK reads, with the usage chunk only when asked", async () => {
    const { user, client } = await fundedUser();
    const stream = await client.chat.completions.create({
      model: "gpt-4o-mini",
      messages: [{ role: "user", content: "Stream me" }],
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = "";
    let usage: (OpenAI.CompletionUsage & { cost_millicredits?: number }) | null | undefined;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? "";
      if (chunk.usage) usage = chunk.usage;
    }
    expect(text).toBe("Echo: Stream me");
    expect(usage?.cost_millicredits).toBe(chargeOf(usage?.prompt_tokens ?? 0, usage?.completion_tokens ?? 0));
    const plain = await client.chat.completions.create({
      model: "gpt-4o-mini",
      messages: [{ role: "user", content: "No usage" }],
      stream: true,
    });
    for await (const chunk of plain) expect(chunk.usage ?? null).toBeNull();
    const rows = await eventually(
      () => usageRowsOf(user.user.id),
      (rows) => rows.length === 2,
    );
    expect(rows.map((row) => row.status)).toEqual(["completed", "completed"]);
  });

  it("relays the provider's chunks as it sent them, but for Stratus's id and model", async () => {
    const { user } = await fundedUser();
    const response = await api("/v1/chat/completions", {
      headers: as(user),
      json: { model: "gpt-4o-mini", messages: [{ role: "user", content: "Relay me" }], stream: true },
    });
    const events = response.text
      .split("\n\n")
      .filter((event) => event.startsWith("data: {"))
      .map((event) => event.slice("data: ".length));
    expect(events.length).toBeGreaterThan(2);
    const ids = new Set(events.map((data) => JSON.parse(data).id));
    expect(ids.size).toBe(1);
    expect([...ids][0]).toMatch(/^chatcmpl-/);
    for (const data of events) {
      // The simulator's own members, in its order: a rebuilt chunk would name none of them.
      expect(data).toMatch(
        /^\{"id":"chatcmpl-[^"]+","created":\d+,"model":"gpt-4o-mini","object":"chat\.completion\.chunk","service_tier":"default","system_fingerprint":"fp_simulator","choices":\[/,
      );
    }
    expect(JSON.parse(events[0] ?? "").choices[0].delta).toEqual({ role: "assistant", content: "", refusal: null });
  });

  it("passes tool calls through, streamed and not", async () => {
    const { client } = await fundedUser();
    const weather = await scenario("openai", [{ toolCall: { name: "get_weather", arguments: { city: "Paris" } } }]);
    const tools = [
      {
        type: "function" as const,
        function: { name: "get_weather", parameters: { type: "object", properties: { city: { type: "string" } } } },
      },
    ];
    const messages = [{ role: "user" as const, content: `Weather? ${weather.marker}` }];
    const answer = await client.chat.completions.create({ model: "gpt-4o-mini", messages, tools });
    const call = answer.choices[0]?.message.tool_calls?.[0];
    expect(answer.choices[0]?.finish_reason).toBe("tool_calls");
    expect(call?.type === "function" && JSON.parse(call.function.arguments)).toEqual({ city: "Paris" });
    const stream = await client.chat.completions.create({ model: "gpt-4o-mini", messages, tools, stream: true });
    let args = "";
    let name = "";
    for await (const chunk of stream) {
      for (const fragment of chunk.choices[0]?.delta.tool_calls ?? []) {
        name += fragment.function?.name ?? "";
        args += fragment.function?.arguments ?? "";
      }
    }
    expect(name).toBe("get_weather");
    expect(JSON.parse(args)).toEqual({ city: "Paris" });
  });

  it("raises the SDK's own errors: 400, 401, 404 model_not_found, 402 without retry", async () => {
    const { client } = await fundedUser();
    await expect(client.chat.completions.create({ model: "gpt-4o-mini", messages: [] })).rejects.toBeInstanceOf(
      OpenAI.BadRequestError,
    );
    await expect(
      openaiFor("not-a-token").chat.completions.create({
        model: "gpt-4o-mini",
        messages: [{ role: "user", content: "x" }],
      }),
    ).rejects.toBeInstanceOf(OpenAI.AuthenticationError);
    const missing = await client.chat.completions
      .create({ model: "gpt-9", messages: [{ role: "user", content: "x" }] })
      .catch((error: unknown) => error);
    expect(missing).toBeInstanceOf(OpenAI.NotFoundError);
    expect((missing as InstanceType<typeof OpenAI.NotFoundError>).code).toBe("model_not_found");
    const broke = await registerUser();
    const poor = await api("/v1/chat/completions", {
      json: { model: "gpt-4o-mini", messages: [{ role: "user", content: "x" }] },
      headers: as(broke),
    });
    expect(poor.status).toBe(402);
    expect(poor.headers.get("x-should-retry")).toBe("false");
    expect(poor.body).toMatchObject({ error: { code: "insufficient_credits" } });
  });

  it("raises RateLimitError past the plan's AI limit", async () => {
    const { client } = await fundedUser();
    const answers = await Promise.allSettled(Array.from({ length: 12 }, () => client.models.list()));
    const refused = answers.find((answer) => answer.status === "rejected");
    expect(refused?.status === "rejected" && refused.reason).toBeInstanceOf(OpenAI.RateLimitError);
  });

  it("drops unknown fields instead of forwarding them, and passes image URLs without fetching them", async () => {
    const { client } = await fundedUser();
    const recorded = await scenario("openai");
    await client.chat.completions.create({
      model: "gpt-4o-mini",
      messages: [
        {
          role: "user",
          content: [
            { type: "text", text: `Describe ${recorded.marker}` },
            { type: "image_url", image_url: { url: "https://images.example.invalid/cat.png" } },
          ],
        },
      ],
      // Not modelled by Stratus: accepted, dropped.
      ...({ user: "end-user-7", metadata: { a: "b" }, surprise: true } as object),
    });
    const [request] = await recorded.requests();
    expect(request?.body).not.toHaveProperty("surprise");
    expect(request?.body).not.toHaveProperty("user");
    expect(JSON.stringify(request?.body)).toContain("https://images.example.invalid/cat.png");
    const plainHttp = await client.chat.completions
      .create({
        model: "gpt-4o-mini",
        messages: [{ role: "user", content: [{ type: "image_url", image_url: { url: "http://10.0.0.1/x.png" } }] }],
      })
      .catch((error: unknown) => error);
    expect(plainHttp).toBeInstanceOf(OpenAI.BadRequestError);
  });

  describe("providers", () => {
    it("reaches Gemini, Mistral and a self-hosted server through their OpenAI-compatible APIs", async () => {
      const { client } = await fundedUser();
      for (const [model, upstream, key] of [
        ["gemini-2.0-flash", "gemini-2.0-flash", "Bearer g"],
        ["mistral-small", "mistral-small-latest", "Bearer m"],
        ["compatible/llama3.1:8b", "llama3.1:8b", "Bearer n"],
      ] as const) {
        const recorded = await scenario("openai");
        const answer = await client.chat.completions.create({
          model,
          messages: [{ role: "user", content: `Hi ${recorded.marker}` }],
        });
        expect(answer.model).toBe(model);
        const [request] = await recorded.requests();
        expect(request?.body).toMatchObject({ model: upstream });
        expect((request as unknown as { headers: Record<string, string> }).headers.authorization).toBe(key);
      }
    });

    it("lets a self-hosted model answer for free, even without credits", async () => {
      const broke = await registerUser();
      const answer = await openaiFor(broke.tokens.accessToken).chat.completions.create({
        model: "compatible/llama3.1:8b",
        messages: [{ role: "user", content: "Free?" }],
      });
      expect((answer.usage as { cost_millicredits?: number }).cost_millicredits).toBe(0);
    });
  });

  describe("Anthropic through the OpenAI wire format", () => {
    it("streams Claude's answer as OpenAI chunks, and round-trips a tool call", async () => {
      const { client } = await fundedUser();
      const stream = await client.chat.completions.create({
        model: "claude-3-5-haiku",
        messages: [{ role: "user", content: "Hello Claude" }],
        stream: true,
        stream_options: { include_usage: true },
      });
      let text = "";
      let usage: OpenAI.CompletionUsage | null | undefined;
      for await (const chunk of stream) {
        text += chunk.choices[0]?.delta.content ?? "";
        usage ??= chunk.usage;
      }
      expect(text).toBe("Echo: Hello Claude");
      expect(usage?.completion_tokens).toBeGreaterThan(0);
      const lookup = await scenario("anthropic", [{ toolCall: { name: "lookup", arguments: { id: 7 } } }, {}]);
      const tools = [{ type: "function" as const, function: { name: "lookup", parameters: { type: "object" } } }];
      const first = await client.chat.completions.create({
        model: "claude-3-5-haiku",
        messages: [{ role: "user", content: `Find 7 ${lookup.marker}` }],
        tools,
      });
      const call = first.choices[0]?.message.tool_calls?.[0];
      expect(call?.type === "function" && [call.function.name, JSON.parse(call.function.arguments)]).toEqual([
        "lookup",
        { id: 7 },
      ]);
      if (!call) throw new Error("no tool call");
      await client.chat.completions.create({
        model: "claude-3-5-haiku",
        messages: [
          { role: "user", content: `Find 7 ${lookup.marker}` },
          { role: "assistant", content: null, tool_calls: [call] },
          { role: "tool", tool_call_id: call.id, content: '{"name":"seven"}' },
        ],
        tools,
      });
      const [, followUp] = await lookup.requests();
      expect(JSON.stringify(followUp?.body)).toContain('"tool_result"');
      expect(JSON.stringify(followUp?.body)).toContain(`"tool_use_id":"${call.id}"`);
    });
  });

  describe("reliability", () => {
    it("retries a 500 and a 429, then answers", async () => {
      const { client } = await fundedUser();
      const flaky = await scenario("openai", [{ status: 500 }, { status: 429, headers: { "retry-after": "0" } }, {}]);
      const answer = await client.chat.completions.create({
        model: "gpt-4o-mini",
        messages: [{ role: "user", content: `Hi ${flaky.marker}` }],
      });
      expect(answer.choices[0]?.message.content).toContain("Echo:");
      expect(await flaky.requests()).toHaveLength(3);
    });

    it("falls back to the next deployment when one keeps failing", async () => {
      const { user, client } = await fundedUser();
      const down = await scenario("openai", [{ status: 503 }]);
      const answer = await client.chat.completions.create({
        model: "gpt-4o-mini",
        messages: [{ role: "user", content: `Hi ${down.marker}` }],
      });
      expect(answer.choices[0]?.message.content).toContain("Echo:");
      expect(await down.requests()).toHaveLength(3);
      const [row] = await eventually(
        () => usageRowsOf(user.user.id),
        (rows) => rows.length === 1,
      );
      expect(row).toMatchObject({ model: "claude-3-5-haiku", status: "completed" });
    });

    it("never retries after the first byte: a broken stream raises in the SDK and charges what arrived", async () => {
      const { user, client } = await fundedUser();
      const breaking = await scenario("openai", [
        { reply: "one two three four five six seven eight", breakAfterChunks: 3 },
      ]);
      const stream = await client.chat.completions.create({
        model: "gpt-4o-mini",
        messages: [{ role: "user", content: `Go ${breaking.marker}` }],
        stream: true,
      });
      let received = "";
      await expect(
        (async () => {
          for await (const chunk of stream) received += chunk.choices[0]?.delta.content ?? "";
        })(),
      ).rejects.toThrow();
      expect(received).toBe("one two thre");
      expect(await breaking.requests()).toHaveLength(1);
      const [row] = await eventually(
        () => usageRowsOf(user.user.id),
        (rows) => rows.length === 1,
      );
      expect(row).toMatchObject({ status: "incomplete", output_tokens: Math.ceil(received.length / 4) });
      expect(await purchasedBalance(user.user.id)).toBe(10_000_000 - (row?.charged ?? 0));
    });

    it("aborts the upstream when the client leaves mid-stream, charging what was generated", async () => {
      const { user, client } = await fundedUser();
      const slow = await scenario("openai", [{ reply: "x".repeat(400), tokenDelayMs: 30 }]);
      const stream = await client.chat.completions.create({
        model: "gpt-4o-mini",
        messages: [{ role: "user", content: `Long ${slow.marker}` }],
        stream: true,
      });
      let chunks = 0;
      for await (const _chunk of stream) {
        if (++chunks === 4) break;
      }
      const [request] = await eventually(
        () => slow.requests(),
        (requests) => requests[0]?.aborted === true,
      );
      expect(request?.aborted).toBe(true);
      const [row] = await eventually(
        () => usageRowsOf(user.user.id),
        (rows) => rows.length === 1,
      );
      expect(row?.status).toBe("incomplete");
      expect(row?.output_tokens).toBeLessThan(100);
    });
  });

  describe("client disconnect, not streamed", () => {
    it("aborts the upstream call when the client gives up on a non-streamed answer", async () => {
      const { client } = await fundedUser();
      const slow = await scenario("openai", [{ delayMs: 3_000 }]);
      const controller = new AbortController();
      const asked = client.chat.completions.create(
        { model: "gpt-4o-mini", messages: [{ role: "user", content: `Slow ${slow.marker}` }] },
        { signal: controller.signal },
      );
      await eventually(
        () => slow.requests(),
        (requests) => requests.length === 1,
      );
      controller.abort();
      await expect(asked).rejects.toThrow();
      const [request] = await eventually(
        () => slow.requests(),
        (requests) => requests[0]?.aborted === true,
      );
      expect(request?.aborted).toBe(true);
    });
  });

  describe("credits", () => {
    it("never overdraws: 50 concurrent requests against a small balance", async () => {
      const { user, client } = await fundedUser(3_000);
      // On pro, so that the plan's AI request limit is not what refuses them.
      await env.DB.prepare(
        "INSERT INTO plan_overrides (account_id, plan_id, set_by, created_at) VALUES (?, 'pro', 'test', 0)",
      )
        .bind(user.user.id)
        .run();
      const answers = await Promise.allSettled(
        Array.from({ length: 50 }, (_, i) =>
          client.chat.completions.create({
            model: "gpt-4o-mini",
            max_tokens: 100,
            messages: [{ role: "user", content: `Question ${i}` }],
          }),
        ),
      );
      const refused = answers.filter((answer) => answer.status === "rejected");
      expect(refused.length).toBeGreaterThan(0);
      for (const answer of refused)
        expect(answer.status === "rejected" && (answer.reason as { status?: number }).status).toBe(402);
      const rows = await eventually(
        () => usageRowsOf(user.user.id),
        (rows) => rows.length === answers.length - refused.length,
      );
      const balance = await purchasedBalance(user.user.id);
      expect(balance).toBeGreaterThanOrEqual(0);
      await drainWallet(user.user.id);
      const ledger = await env.DB.prepare("SELECT sum(amount) AS total FROM credit_ledger WHERE account_id = ?")
        .bind(user.user.id)
        .first<{ total: number }>();
      expect(ledger?.total).toBe(balance);
      const charged = rows.reduce((sum, row) => sum + row.charged, 0);
      expect(3_000 - (await purchasedBalance(user.user.id))).toBe(charged);
    });

    it("charges every request, even two that share a client-chosen X-Request-Id", async () => {
      const { user } = await fundedUser();
      const client = openaiFor(user.tokens.accessToken, { "x-request-id": "client-trace-0001" });
      const answers = await Promise.all(
        [1, 2].map(() =>
          client.chat.completions.create({ model: "gpt-4o-mini", messages: [{ role: "user", content: "Same id" }] }),
        ),
      );
      const rows = await eventually(
        () => usageRowsOf(user.user.id),
        (rows) => rows.length === 2,
      );
      expect(rows).toHaveLength(2);
      const charged = answers.reduce(
        (sum, answer) => sum + (answer.usage as unknown as { cost_millicredits: number }).cost_millicredits,
        0,
      );
      expect(10_000_000 - (await purchasedBalance(user.user.id))).toBe(charged);
      const ids = await env.DB.prepare("SELECT request_id FROM ai_usage WHERE account_id = ?")
        .bind(user.user.id)
        .all<{ request_id: string }>();
      expect(ids.results.map((row) => row.request_id)).toEqual(["client-trace-0001", "client-trace-0001"]);
    });

    it("fits the answer to what an API key's budget has left, and refuses one that covers no minimal answer", async () => {
      const { user } = await fundedUser();
      const keyWithBudget = async (monthlyCreditBudget: number) =>
        (
          await api<{ secret: string }>("/v1/api-keys", {
            json: { name: `budget ${monthlyCreditBudget}`, scopes: ["ai"], monthlyCreditBudget },
            headers: as(user),
          })
        ).body.secret;
      const script = await scenario("openai");
      // No max_tokens: the model's default (4 096) would cost far more than 500 millicredits.
      const completion = await openaiFor(await keyWithBudget(500)).chat.completions.create({
        model: "gpt-4o-mini",
        messages: [{ role: "user", content: `Small budget ${script.marker}` }],
      });
      expect(completion.choices[0]?.message.content).toContain("Small budget");
      const [sent] = await script.requests();
      const maxTokens = sent?.body.max_tokens as number;
      // At the dearest fallback's 4 millicredits an output token, 500 covers fewer than 125.
      expect(maxTokens).toBeGreaterThanOrEqual(16);
      expect(maxTokens).toBeLessThan(125);
      const refused = await openaiFor(await keyWithBudget(40))
        .chat.completions.create({ model: "gpt-4o-mini", messages: [{ role: "user", content: "Tiny budget" }] })
        .catch((error: unknown) => error);
      expect(refused).toBeInstanceOf(OpenAI.APIError);
      expect(refused).toMatchObject({ status: 402, code: "budget_exceeded" });
    });

    it("sends the max_tokens the hold was sized for, whatever the rounding of the hold", async () => {
      const { client } = await fundedUser();
      const script = await scenario("openai");
      // 4 + 2556 / 3 = 856 estimated input tokens: at gpt-4o-mini's prices (mistral-small's fallback),
      // 856 × 0.15 + 16 × 0.6 is a whole 138 millicredits, from which 16 tokens can no longer be
      // recomputed in floating point (15.99…): the hold's own sizing must be what is sent.
      const content = `${script.marker} `.padEnd(2556, "x");
      const answer = await client.chat.completions.create({
        model: "mistral-small",
        max_tokens: 16,
        messages: [{ role: "user", content }],
      });
      expect(answer.choices[0]?.message.content).toContain("Echo:");
      const [sent] = await script.requests();
      expect(sent?.body.max_tokens).toBe(16);
    });

    it("holds an API key to its monthly budget under concurrency", async () => {
      const { user } = await fundedUser();
      await env.DB.prepare(
        "INSERT INTO plan_overrides (account_id, plan_id, set_by, created_at) VALUES (?, 'pro', 'test', 0)",
      )
        .bind(user.user.id)
        .run();
      const created = await api<{ secret: string; apiKey: { monthlyCreditBudget: number } }>("/v1/api-keys", {
        json: { name: "capped", scopes: ["ai"], monthlyCreditBudget: 500 },
        headers: as(user),
      });
      expect(created.body.apiKey.monthlyCreditBudget).toBe(500);
      const capped = openaiFor(created.body.secret);
      const answers = await Promise.allSettled(
        Array.from({ length: 30 }, (_, i) =>
          capped.chat.completions.create({
            model: "gpt-4o-mini",
            max_tokens: 100,
            messages: [{ role: "user", content: `Budget ${i}` }],
          }),
        ),
      );
      const refused = answers.filter((answer) => answer.status === "rejected");
      expect(refused.length).toBeGreaterThan(0);
      for (const answer of refused) {
        expect(answer.status === "rejected" && (answer.reason as { code?: string }).code).toBe("budget_exceeded");
      }
      const rows = await eventually(
        () => usageRowsOf(user.user.id),
        (rows) => rows.length === answers.length - refused.length,
      );
      const charged = rows.reduce((sum, row) => sum + row.charged, 0);
      expect(charged).toBeGreaterThan(0);
      expect(charged).toBeLessThanOrEqual(500);
    });
  });
});
