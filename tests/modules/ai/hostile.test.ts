import OpenAI from "openai";
import { afterEach, describe, expect, it, vi } from "vitest";
import { resetCircuits } from "../../../src/platform/upstreams/circuit";
import { eventually, fund, openaiFor, purchasedBalance, scenario, usageRowsOf } from "../../helpers/ai";
import { api } from "../../helpers/client";
import { as, registerUser } from "../../helpers/identity";
import { capturedLogs } from "../../helpers/logs";

/**
 * The AI providers as hostile upstreams (simulators' hostile modes): they echo our key in their
 * errors, report usage no call could have, send answers of the wrong types, impossible indexes
 * or no JSON at all. Clients see our words only, logs never hold a key, charges stay within
 * 0 ≤ charge ≤ hold, and a broken answer is the provider's fault (retried, failed over, or for
 * a stream already under way an error chunk, never a silent completion).
 */

const OPENAI_KEY = "sk-stratus-tests";
const ANTHROPIC_KEY = "sk-ant-stratus-tests";

afterEach(() => {
  vi.restoreAllMocks();
  resetCircuits();
});

async function fundedUser(millicredits = 10_000_000) {
  const user = await registerUser();
  await fund(user.user.id, millicredits);
  return { user, client: openaiFor(user.tokens.accessToken) };
}

const chatBody = (text: string, extra: Record<string, unknown> = {}) =>
  JSON.stringify({ model: "gpt-4o-mini", messages: [{ role: "user", content: text }], ...extra });

/** A scenario scripted alike on both chat simulators: gpt-4o-mini and its Claude fallback. */
async function bothProviders(steps: Parameters<typeof scenario>[1]) {
  const id = crypto.randomUUID();
  const openai = await scenario("openai", steps, id);
  const anthropic = await scenario("anthropic", steps, id);
  return { marker: openai.marker, openai, anthropic };
}

/** A chat completion through the app at `debug` level, every log line captured. */
async function chatLogged(status: number) {
  const { user } = await fundedUser();
  const { marker } = await bothProviders([{ status, hostile: "echo_headers" }]);
  const logs = capturedLogs();
  const response = await logs.call("/v1/chat/completions", {
    method: "POST",
    headers: { ...as(user), "content-type": "application/json" },
    body: chatBody(`Hi ${marker}`),
  });
  return { logs, response };
}

describe("upstream errors that echo our credentials", () => {
  it("a refusal (400) answers in our words; the key is in no answer and no log line", async () => {
    const { logs, response } = await chatLogged(400);
    expect(response.status).toBe(400);
    expect(response.body).toEqual({
      error: {
        message: "The provider refused this request as invalid.",
        type: "invalid_request_error",
        code: "validation_failed",
        param: null,
      },
    });
    // The upstream's words reach the log, without the key.
    expect(logs.text()).toContain("ai upstream refused the request");
    expect(logs.text()).toContain("Received headers");
    for (const secret of [OPENAI_KEY, ANTHROPIC_KEY]) {
      expect(response.text).not.toContain(secret);
      expect(logs.text()).not.toContain(secret);
    }
  });

  it("a failure (500) on every provider answers 503 in our words; logs keep a redacted excerpt", async () => {
    const { logs, response } = await chatLogged(500);
    expect(response.status).toBe(503);
    expect((response.body as { error: { message: string } }).error.message).toBe(
      "No provider could answer this request; try again shortly.",
    );
    expect(logs.text()).toContain("ai upstream failed");
    expect(logs.text()).toContain("[redacted]");
    for (const secret of [OPENAI_KEY, ANTHROPIC_KEY]) {
      expect(response.text).not.toContain(secret);
      expect(logs.text()).not.toContain(secret);
    }
  });

  it("passes on a known refusal code, and the field only when the client sent it", async () => {
    const { client } = await fundedUser();
    const tooLong = await scenario("openai", [
      {
        status: 400,
        error: {
          code: "context_length_exceeded",
          message: `too long; key ${OPENAI_KEY}`,
          param: `messages.${OPENAI_KEY}`,
        },
      },
    ]);
    const refused = await client.chat.completions
      .create({ model: "gpt-4o-mini", messages: [{ role: "user", content: `Hi ${tooLong.marker}` }] })
      .catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(OpenAI.BadRequestError);
    expect(refused).toMatchObject({ code: "context_length_exceeded", param: "body.messages" });
    expect((refused as Error).message).toContain("longer than the model's context window");
    // Only the client's own field name comes back, never the rest of the upstream's `param`.
    expect(JSON.stringify(refused)).not.toContain(OPENAI_KEY);
    expect((refused as Error).message).not.toContain(OPENAI_KEY);

    const filtered = await scenario("openai", [
      { status: 400, error: { code: "content_filter", message: "nope", param: "max_tokens" } },
    ]);
    const blocked = await client.chat.completions
      .create({ model: "gpt-4o-mini", messages: [{ role: "user", content: `Hi ${filtered.marker}` }] })
      .catch((error: unknown) => error);
    // max_tokens is ours (Stratus sets it upstream), not the client's: no param.
    expect(blocked).toMatchObject({ status: 400, code: "content_filter", param: null });

    const odd = await scenario("openai", [{ status: 400, error: { code: "__proto__", message: "x", param: "a b" } }]);
    const plain = await client.chat.completions
      .create({ model: "gpt-4o-mini", messages: [{ role: "user", content: `Hi ${odd.marker}` }] })
      .catch((error: unknown) => error);
    expect(plain).toMatchObject({ status: 400, code: "validation_failed", param: null });
  });
});

describe("usage a provider reports but cannot mean", () => {
  for (const [name, count] of [
    ["negative", -1_000_000],
    ["huge", 1e15],
    ["fractional", 12.5],
    ["a string", "12"],
  ] as const) {
    it(`${name} counts are not believed: the estimate is charged, within the hold, and the row says so`, async () => {
      const { user, client } = await fundedUser();
      const { marker } = await scenario("openai", [{ usage: { prompt: count, completion: count } }]);
      const completion = await client.chat.completions.create({
        model: "gpt-4o-mini",
        messages: [{ role: "user", content: `Hello ${marker}` }],
      });
      const usage = completion.usage as OpenAI.CompletionUsage & { cost_millicredits: number };
      expect(usage.prompt_tokens).toBeGreaterThan(0);
      expect(Number.isInteger(usage.prompt_tokens)).toBe(true);
      expect(usage.cost_millicredits).toBeGreaterThan(0);
      const [row] = await eventually(
        () => usageRowsOf(user.user.id),
        (rows) => rows.length === 1,
      );
      expect(row).toMatchObject({ status: "completed", usage_source: "estimated", charged: usage.cost_millicredits });
      expect(await purchasedBalance(user.user.id)).toBe(10_000_000 - usage.cost_millicredits);
      const summary = await api<{ totals: { charged: number; inputTokens: number } }>("/v1/usage", {
        headers: as(user),
      });
      expect(summary.body.totals.charged).toBe(usage.cost_millicredits);
      expect(summary.body.totals.inputTokens).toBeGreaterThan(0);
    });
  }

  it("believable counts are the provider's, and the row says so", async () => {
    const { user, client } = await fundedUser();
    const { marker } = await scenario("openai", [{ usage: { prompt: 10, completion: 5 } }]);
    await client.chat.completions.create({
      model: "gpt-4o-mini",
      messages: [{ role: "user", content: `Hi ${marker}` }],
    });
    const [row] = await eventually(
      () => usageRowsOf(user.user.id),
      (rows) => rows.length === 1,
    );
    expect(row).toMatchObject({ input_tokens: 10, output_tokens: 5, usage_source: "provider" });
  });
});

describe("answers of the wrong shape", () => {
  for (const mode of ["wrong_types", "huge_index", "garbage"] as const) {
    it(`${mode}: one provider's is failed over to the next; both's answer 503 and charge nothing`, async () => {
      const { user, client } = await fundedUser();
      const onlyOpenai = await scenario("openai", [{ hostile: mode }]);
      const answered = await client.chat.completions.create({
        model: "gpt-4o-mini",
        messages: [{ role: "user", content: `Hi ${onlyOpenai.marker}` }],
      });
      expect(answered.model).toBe("claude-3-5-haiku");
      expect(await onlyOpenai.requests()).toHaveLength(3); // retried like a 5xx, then the fallback

      const { marker } = await bothProviders([{ hostile: mode }]);
      const before = await purchasedBalance(user.user.id);
      const refused = await client.chat.completions
        .create({ model: "gpt-4o-mini", messages: [{ role: "user", content: `Hi ${marker}` }] })
        .catch((error: unknown) => error);
      expect(refused).toMatchObject({ status: 503 });
      const rows = await eventually(
        () => usageRowsOf(user.user.id),
        (all) => all.length === 2,
      );
      expect(rows.find((row) => row.status === "failed")).toMatchObject({ charged: 0 });
      expect(await purchasedBalance(user.user.id)).toBe(before);
    });

    it(`${mode} after the first byte of a stream ends it with an error chunk, charging what was received`, async () => {
      const { user } = await fundedUser();
      const { marker } = await scenario("openai", [{ hostile: mode, reply: "one two three four five six" }]);
      const response = await api("/v1/chat/completions", {
        headers: as(user),
        json: { model: "gpt-4o-mini", messages: [{ role: "user", content: `Hi ${marker}` }], stream: true },
      });
      expect(response.status).toBe(200);
      expect(response.text).toContain('"content":"one "');
      expect(response.text).toContain('"code":"stream_interrupted"');
      expect(response.text).not.toContain("[DONE]");
      const [row] = await eventually(
        () => usageRowsOf(user.user.id),
        (rows) => rows.length === 1,
      );
      expect(row).toMatchObject({ status: "incomplete", usage_source: "estimated" });
      expect(row?.charged).toBeGreaterThan(0);
    });
  }

  it("members a stream's chunks should not have never reach the client: those chunks are rebuilt, the answer whole", async () => {
    const { user } = await fundedUser();
    const { marker } = await scenario("openai", [{ hostile: "extras", reply: "one two three" }]);
    const response = await api("/v1/chat/completions", {
      headers: as(user),
      json: {
        model: "gpt-4o-mini",
        messages: [{ role: "user", content: `Hi ${marker}` }],
        stream: true,
        stream_options: { include_usage: true },
      },
    });
    expect(response.status).toBe(200);
    for (const hidden of ["x_provider", "secret-host", "cost_usd", "reasoning_content", '"logprobs":{'])
      expect(response.text).not.toContain(hidden);
    const chunks = response.text
      .split("\n\n")
      .filter((event) => event.startsWith("data: {"))
      .map((event) => JSON.parse(event.slice("data: ".length)));
    expect(chunks.map((chunk) => chunk.choices[0]?.delta?.content ?? "").join("")).toBe("one two three");
    expect(chunks.at(-1)?.usage?.cost_millicredits).toBeGreaterThan(0);
    expect(response.text.endsWith("data: [DONE]\n\n")).toBe(true);
  });

  it("an Anthropic stream of the wrong types is failed over like any provider fault", async () => {
    const { client } = await fundedUser();
    const claude = await scenario("anthropic", [{ hostile: "wrong_types" }]);
    const answered = await client.chat.completions.create({
      model: "claude-3-5-haiku",
      messages: [{ role: "user", content: `Hi ${claude.marker}` }],
    });
    expect(answered.model).toBe("gpt-4o-mini");
  });
});

describe("embeddings, images and audio from hostile upstreams", () => {
  for (const mode of ["wrong_types", "huge_index", "garbage"] as const) {
    it(`embeddings: ${mode} answers 503 and charges nothing`, async () => {
      const { user, client } = await fundedUser();
      const { marker } = await scenario("openai", [{ hostile: mode }]);
      const refused = await client.embeddings
        .create({ model: "text-embedding-3-small", input: [`a ${marker}`, "b"] })
        .catch((error: unknown) => error);
      expect(refused).toMatchObject({ status: 503 });
      const [row] = await eventually(
        () => usageRowsOf(user.user.id),
        (rows) => rows.length === 1,
      );
      expect(row).toMatchObject({ status: "failed", charged: 0 });
      expect(await purchasedBalance(user.user.id)).toBe(10_000_000);
    });
  }

  it("embeddings: a count that cannot be is replaced by the estimate", async () => {
    const { user, client } = await fundedUser();
    const { marker } = await scenario("openai", [{ usage: { prompt: -5 } }]);
    const answer = await client.embeddings.create({ model: "text-embedding-3-small", input: `hello ${marker}` });
    expect(answer.usage.prompt_tokens).toBeGreaterThan(0);
    const [row] = await eventually(
      () => usageRowsOf(user.user.id),
      (rows) => rows.length === 1,
    );
    expect(row).toMatchObject({ status: "completed", usage_source: "estimated" });
    expect(row?.charged).toBeGreaterThan(0);
  });

  for (const mode of ["wrong_types", "garbage"] as const) {
    it(`images: ${mode} answers 503`, async () => {
      const { client } = await fundedUser();
      const { marker } = await scenario("openai", [{ hostile: mode }]);
      const refused = await client.images
        .generate({ model: "dall-e-3", prompt: `a cloud ${marker}` })
        .catch((error: unknown) => error);
      expect(refused).toMatchObject({ status: 503 });
    });
  }

  const audio = () => new File([new Uint8Array(12 * 16_000)], "talk.mp3", { type: "audio/mpeg" });

  it("transcriptions: wrong types answer 503; a duration that cannot be is billed from the segments", async () => {
    const { user, client } = await fundedUser();
    const broken = await scenario("openai", [{ hostile: "wrong_types" }]);
    const refused = await client.audio.transcriptions
      .create({ file: audio(), model: "whisper-1", prompt: broken.marker })
      .catch((error: unknown) => error);
    expect(refused).toMatchObject({ status: 503 });

    const negative = await scenario("openai", [{ usage: { seconds: -3600 } }]);
    const { data, response } = await client.audio.transcriptions
      .create({ file: audio(), model: "whisper-1", prompt: negative.marker, response_format: "verbose_json" })
      .withResponse();
    expect((data as unknown as { duration: number }).duration).toBe(12);
    // whisper-1: 6 000 millicredits a minute, 12 s.
    expect(response.headers.get("x-stratus-cost-millicredits")).toBe("1200");
    const rows = await eventually(
      () => usageRowsOf(user.user.id),
      (all) => all.length === 2,
    );
    expect(rows.find((row) => row.status === "completed")).toMatchObject({ usage_source: "estimated", charged: 1200 });
  });

  it("speech: an upstream that answers a page where audio belongs answers 503, and nothing is charged", async () => {
    const { user } = await fundedUser();
    const { marker } = await scenario("openai", [{ hostile: "wrong_types" }]);
    const response = await api("/v1/audio/speech", {
      headers: as(user),
      json: { model: "tts-1", voice: "alloy", input: `hello ${marker}`, response_format: "mp3" },
    });
    expect(response.status).toBe(503);
    expect(response.text).not.toContain("<script>");
    const [row] = await eventually(
      () => usageRowsOf(user.user.id),
      (rows) => rows.length === 1,
    );
    expect(row).toMatchObject({ status: "failed", charged: 0 });
  });

  it("a body or stream line too large to hold is refused as it arrives, before it fills the isolate's memory", async () => {
    const { user } = await fundedUser();
    const logs = capturedLogs();
    const post = (path: string, body: unknown) =>
      logs.call(path, {
        method: "POST",
        headers: { ...as(user), "content-type": "application/json" },
        body: JSON.stringify(body),
      });
    const embedded = await scenario("openai", [{ hostile: "huge" }]);
    const refused = await post("/v1/embeddings", { model: "text-embedding-3-small", input: `a ${embedded.marker}` });
    expect(refused.status).toBe(503);
    expect(logs.text()).toContain("invalid answer: a body too large");
    const streamed = await scenario("openai", [{ hostile: "huge", reply: "one two three four" }]);
    const response = await post("/v1/chat/completions", {
      model: "gpt-4o-mini",
      messages: [{ role: "user", content: `Hi ${streamed.marker}` }],
      stream: true,
    });
    expect(response.status).toBe(200);
    expect(response.text).toContain('"code":"stream_interrupted"');
    expect(logs.text()).toContain("invalid answer: a line too long");
  }, 30_000);
});
