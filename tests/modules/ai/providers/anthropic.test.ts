import { describe, expect, inject, it } from "vitest";
import { anthropicChat } from "../../../../src/modules/ai/providers/anthropic/chat";
import { StreamTranslator } from "../../../../src/modules/ai/providers/anthropic/wire";
import { MAX_EVENT_CHARS, sseDecoder } from "../../../../src/modules/ai/providers/event-stream";
import type { ChatPart, ChatRequest } from "../../../../src/modules/ai/providers/types";
import { AppError } from "../../../../src/platform/errors";
import { UpstreamError } from "../../../../src/platform/upstreams/error";
import { scenario as anthropicScenario, type RecordedRequest, type Step } from "../../../helpers/ai";

const baseUrl = inject("anthropicSimulatorUrl");
const provider = anthropicChat({ apiKey: "sk-ant-unit-tests-secret", baseUrl });

/** A fresh Anthropic scenario with its steps; its marker goes into a request's text. */
const scenario = (...steps: Step[]) => anthropicScenario("anthropic", steps);

/** The simulator's record of the scenario's first request, once it saw the client leave (or after 1 s). */
async function abortedRequest(requests: () => Promise<RecordedRequest[]>): Promise<RecordedRequest | undefined> {
  let recorded: RecordedRequest | undefined;
  for (let attempt = 0; attempt < 50; attempt++) {
    [recorded] = await requests();
    if (recorded?.aborted) break;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return recorded;
}

const request = (text: string, extra: Partial<ChatRequest> = {}): ChatRequest => ({
  model: "claude-test",
  messages: [{ role: "user", content: text }],
  maxTokens: 256,
  n: 1,
  ...extra,
});

async function collect(parts: AsyncIterable<ChatPart>, signal?: AbortSignal): Promise<ChatPart[]> {
  const all: ChatPart[] = [];
  for await (const part of parts) all.push(part);
  signal?.throwIfAborted();
  return all;
}

const text = (parts: ChatPart[]) =>
  parts
    .filter((part) => part.type === "text")
    .map((part) => part.text)
    .join("");

/** The rejection of a promise, which must reject. */
async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => expect.fail("expected a rejection"),
    (error: unknown) => error,
  );
}

describe("anthropicChat", () => {
  it("streams a text answer: text parts, then finish and the upstream's usage", async () => {
    const { marker, requests } = await scenario({
      reply: "Hello from the simulated Claude, in pieces.",
      usage: { prompt: 17, completion: 9 },
    });
    const parts = await collect(provider.chat(request(`${marker} hi`), new AbortController().signal));

    expect(parts.filter((part) => part.type === "text").length).toBeGreaterThan(1);
    expect(text(parts)).toBe("Hello from the simulated Claude, in pieces.");
    expect(parts.slice(-2)).toEqual([
      { type: "finish", choice: 0, reason: "stop" },
      { type: "usage", inputTokens: 17, outputTokens: 9 },
    ]);

    const [recorded] = await requests();
    expect(recorded?.body).toMatchObject({
      model: "claude-test",
      max_tokens: 256,
      stream: true,
      messages: [{ role: "user", content: [{ type: "text", text: `${marker} hi` }] }],
    });
    expect(recorded?.body).not.toHaveProperty("system");
  });

  it("counts usage as the simulator does when not overridden", async () => {
    const { marker } = await scenario({ reply: "abcdefgh" });
    const parts = await collect(provider.chat(request(`${marker} x`), new AbortController().signal));
    // 1 token per 4 characters; the prompt counts its text plus 3 per message.
    const prompt = Math.ceil(`${marker} x`.length / 4) + 3;
    expect(parts.at(-1)).toEqual({ type: "usage", inputTokens: prompt, outputTokens: 2 });
  });

  it("finishes with length when max_tokens cuts the answer", async () => {
    const { marker } = await scenario({ reply: "a long answer that will not fit in two tokens" });
    const parts = await collect(provider.chat(request(`${marker} go`, { maxTokens: 2 }), new AbortController().signal));
    expect(text(parts)).toBe("a long a");
    expect(parts).toContainEqual({ type: "finish", choice: 0, reason: "length" });
  });

  it("streams a tool call and translates the follow-up with its result", async () => {
    const args = { city: "Lisbon", units: "metric", days: [1, 2, 3] };
    const { marker, requests } = await scenario(
      { toolCall: { name: "get_weather", arguments: args } },
      { reply: "Sunny." },
    );
    const tools = [
      { name: "get_weather", description: "Weather by city", parameters: { type: "object", properties: {} } },
      { name: "get_time" },
    ];
    const first = await collect(
      provider.chat(
        {
          ...request(`${marker} weather in Lisbon?`),
          messages: [
            { role: "system", content: "You are terse." },
            { role: "user", content: `${marker} weather in Lisbon?` },
          ],
          tools,
          toolChoice: "required",
        },
        new AbortController().signal,
      ),
    );
    const calls = first.filter((part) => part.type === "tool_call");
    const [opening, ...fragments] = calls;
    expect(opening).toMatchObject({ type: "tool_call", choice: 0, call: 0, name: "get_weather", arguments: "" });
    expect(opening?.id).toMatch(/^toolu_/);
    expect(fragments.length).toBeGreaterThan(1);
    for (const fragment of fragments) expect(fragment).toMatchObject({ call: 0 });
    expect(fragments.every((fragment) => fragment.id === undefined && fragment.name === undefined)).toBe(true);
    expect(JSON.parse(fragments.map((fragment) => fragment.arguments).join(""))).toEqual(args);
    expect(first).toContainEqual({ type: "finish", choice: 0, reason: "tool_calls" });

    const id = opening?.id ?? "";
    const second = await collect(
      provider.chat(
        {
          ...request(""),
          messages: [
            { role: "system", content: "You are terse." },
            { role: "user", content: `${marker} weather in Lisbon?` },
            { role: "developer", content: "Answer in English." },
            {
              role: "assistant",
              content: "Let me check.",
              toolCalls: [
                { id, name: "get_weather", arguments: JSON.stringify(args) },
                { id: "toolu_other", name: "get_time", arguments: "not json" },
              ],
            },
            { role: "tool", toolCallId: id, content: '{"sky":"clear"}' },
            { role: "tool", toolCallId: "toolu_other", content: "12:00" },
            { role: "user", content: "And tomorrow?" },
          ],
          tools,
          toolChoice: { name: "get_weather" },
          temperature: 0.2,
          topP: 0.9,
          stop: ["END"],
        },
        new AbortController().signal,
      ),
    );
    expect(text(second)).toBe("Sunny.");

    const [firstRecord, secondRecord] = await requests();
    expect(firstRecord?.body).toMatchObject({
      system: "You are terse.",
      tool_choice: { type: "any" },
      tools: [
        { name: "get_weather", description: "Weather by city", input_schema: { type: "object", properties: {} } },
        { name: "get_time", input_schema: { type: "object" } },
      ],
    });
    expect(secondRecord?.body).toEqual({
      model: "claude-test",
      max_tokens: 256,
      stream: true,
      system: "You are terse.\n\nAnswer in English.",
      temperature: 0.2,
      top_p: 0.9,
      stop_sequences: ["END"],
      tools: [
        { name: "get_weather", description: "Weather by city", input_schema: { type: "object", properties: {} } },
        { name: "get_time", input_schema: { type: "object" } },
      ],
      tool_choice: { type: "tool", name: "get_weather" },
      messages: [
        // the developer message between user turns leaves them one turn
        { role: "user", content: [{ type: "text", text: `${marker} weather in Lisbon?` }] },
        {
          role: "assistant",
          content: [
            { type: "text", text: "Let me check." },
            { type: "tool_use", id, name: "get_weather", input: args },
            { type: "tool_use", id: "toolu_other", name: "get_time", input: {} },
          ],
        },
        {
          role: "user",
          content: [
            { type: "tool_result", tool_use_id: id, content: '{"sky":"clear"}' },
            { type: "tool_result", tool_use_id: "toolu_other", content: "12:00" },
            { type: "text", text: "And tomorrow?" },
          ],
        },
      ],
    });
  });

  it("maps image parts: a data URL to a base64 source, an https URL to a url source", async () => {
    const { marker, requests } = await scenario({ reply: "Two images." });
    await collect(
      provider.chat(
        {
          ...request(""),
          messages: [
            {
              role: "user",
              content: [
                { type: "text", text: `${marker} describe` },
                { type: "image_url", url: "data:image/png;base64,iVBORw0KGgo=" },
                { type: "image_url", url: "https://images.example.com/cat.jpg", detail: "high" },
              ],
            },
          ],
        },
        new AbortController().signal,
      ),
    );
    const [recorded] = await requests();
    expect(recorded?.body.messages).toEqual([
      {
        role: "user",
        content: [
          { type: "text", text: `${marker} describe` },
          { type: "image", source: { type: "base64", media_type: "image/png", data: "iVBORw0KGgo=" } },
          { type: "image", source: { type: "url", url: "https://images.example.com/cat.jpg" } },
        ],
      },
    ]);
  });

  it("asks for JSON only in the system prompt when a JSON response format is requested", async () => {
    const { marker, requests } = await scenario({ reply: "{}" });
    const schema = { type: "object", properties: { ok: { type: "boolean" } } };
    await collect(
      provider.chat(
        {
          ...request(`${marker} json`),
          responseFormat: { type: "json_schema", name: "answer", schema },
          toolChoice: "none",
        },
        new AbortController().signal,
      ),
    );
    const [recorded] = await requests();
    expect(recorded?.body.system).toContain("JSON");
    expect(recorded?.body.system).toContain(JSON.stringify(schema));
    // no tools, so no tool_choice either (Anthropic refuses one without the other)
    expect(recorded?.body).not.toHaveProperty("tool_choice");
  });

  it("refuses n > 1 before calling upstream", async () => {
    const error = await rejection(collect(provider.chat(request("hi", { n: 2 }), new AbortController().signal)));
    // Ours, found before any call: the client's 400, never counted against Anthropic.
    expect(error).toBeInstanceOf(AppError);
    expect(error).toMatchObject({ code: "validation_failed", status: 400 });
  });

  it("turns a 429 into a retryable UpstreamError with retry-after", async () => {
    const { marker } = await scenario({ status: 429, headers: { "retry-after": "7" } });
    const error = await rejection(collect(provider.chat(request(`${marker} hi`), new AbortController().signal)));
    expect(error).toBeInstanceOf(UpstreamError);
    expect(error).toMatchObject({ retryable: true, status: 429, retryAfterMs: 7000 });
    expect((error as Error).message).toBe("anthropic: 429 rate_limit_error");
    expect((error as UpstreamError).excerpt).toMatch(/rate limit/);
  });

  it("turns a 529 (overloaded) into a retryable UpstreamError", async () => {
    const { marker } = await scenario({ status: 529 });
    const error = await rejection(collect(provider.chat(request(`${marker} hi`), new AbortController().signal)));
    expect(error).toMatchObject({ retryable: true, status: 529, message: "anthropic: 529 overloaded_error" });
  });

  it("turns a 400 into a UpstreamError that is not retryable: our words, the upstream's only in the excerpt", async () => {
    const { marker } = await scenario({ status: 400, error: { message: "messages: roles must alternate" } });
    const error = await rejection(collect(provider.chat(request(`${marker} hi`), new AbortController().signal)));
    expect(error).toBeInstanceOf(UpstreamError);
    expect(error).toMatchObject({ retryable: false, status: 400, retryAfterMs: undefined });
    expect((error as Error).message).toBe("anthropic: 400 invalid_request_error");
    expect((error as UpstreamError).excerpt).toContain("messages: roles must alternate");
  });

  it("keeps no trace of the key when the upstream echoes the request's headers in its error", async () => {
    const { marker } = await scenario({ status: 400, hostile: "echo_headers" });
    const error = await rejection(collect(provider.chat(request(`${marker} hi`), new AbortController().signal)));
    expect(error).toMatchObject({ retryable: false, status: 400 });
    expect((error as UpstreamError).excerpt).toContain("Received headers");
    expect(JSON.stringify({ ...(error as UpstreamError), message: (error as Error).message })).not.toContain(
      "sk-ant-unit-tests-secret",
    );
  });

  it("reads a context-length refusal as a code the client may see", async () => {
    const { marker } = await scenario({
      status: 400,
      error: { message: "prompt is too long: 250000 tokens > 200000 maximum" },
    });
    const error = await rejection(collect(provider.chat(request(`${marker} hi`), new AbortController().signal)));
    expect(error).toMatchObject({ retryable: false, status: 400, code: "context_length_exceeded" });
  });

  it("turns a refused connection into a retryable UpstreamError", async () => {
    // workerd logs "Network connection lost" for any refused fetch with a body, even a caught one.
    const closed = anthropicChat({ apiKey: "sk-ant-unit-tests-secret", baseUrl: "http://127.0.0.1:9" });
    const error = await rejection(collect(closed.chat(request("hi"), new AbortController().signal)));
    expect(error).toBeInstanceOf(UpstreamError);
    expect(error).toMatchObject({ retryable: true, status: undefined });
    expect((error as Error).message).not.toContain("sk-ant-unit-tests-secret");
  });

  it("fails retryably with 'ended early' when the stream is cut, after the delivered text", async () => {
    const { marker, requests } = await scenario({ reply: "one two three four five six", breakAfterChunks: 3 });
    const parts: ChatPart[] = [];
    const error = await rejection(
      (async () => {
        for await (const part of provider.chat(request(`${marker} hi`), new AbortController().signal)) parts.push(part);
      })(),
    );
    expect(error).toBeInstanceOf(UpstreamError);
    expect(error).toMatchObject({ retryable: true, message: "anthropic: the stream ended early" });
    expect(parts).toEqual([
      { type: "text", choice: 0, text: "one " },
      { type: "text", choice: 0, text: "two " },
      { type: "text", choice: 0, text: "thre" },
    ]);
    const [recorded] = await requests();
    expect(recorded).toMatchObject({ chunksSent: 3, aborted: false });
  });

  it("aborts mid-stream: the iteration rejects with an AbortError and the upstream sees the abort", async () => {
    const { marker, requests } = await scenario({ reply: "x".repeat(400), tokenDelayMs: 20 });
    const controller = new AbortController();
    const parts: ChatPart[] = [];
    const error = await rejection(
      (async () => {
        for await (const part of provider.chat(request(`${marker} hi`), controller.signal)) {
          parts.push(part);
          if (parts.length === 2) controller.abort();
        }
      })(),
    );
    expect(error).toBeInstanceOf(DOMException);
    expect((error as DOMException).name).toBe("AbortError");
    expect(parts.length).toBe(2);

    const recorded = await abortedRequest(requests);
    expect(recorded?.aborted).toBe(true);
    expect(recorded?.chunksSent).toBeLessThan(100);
  });

  it("aborts while waiting for the answer's headers", async () => {
    const { marker, requests } = await scenario({ delayMs: 2000 });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);
    const error = await rejection(collect(provider.chat(request(`${marker} hi`), controller.signal)));
    expect((error as DOMException).name).toBe("AbortError");
    const recorded = await abortedRequest(requests);
    expect(recorded?.aborted).toBe(true);
  });
});

describe("sseDecoder", () => {
  it("decodes events split anywhere, CRLF included", () => {
    const stream =
      'event: ping\r\ndata: {"type":"ping"}\r\n\r\n: comment\nevent: a\ndata: 1\ndata: 2\n\nevent: b\rdata:3\r\r';
    for (let size = 1; size <= stream.length; size++) {
      const decoder = sseDecoder();
      const events = [];
      for (let at = 0; at < stream.length; at += size) events.push(...decoder.push(stream.slice(at, at + size)));
      events.push(...decoder.end());
      expect(events).toEqual([
        { event: "ping", data: '{"type":"ping"}' },
        { event: "a", data: "1\n2" },
        { event: "b", data: "3" },
      ]);
    }
  });

  it("dispatches a last event without its blank line at the end", () => {
    const decoder = sseDecoder();
    expect(decoder.push("event: x\ndata: y")).toEqual([]);
    expect(decoder.end()).toEqual([{ event: "x", data: "y" }]);
  });

  it("refuses an event past its cap as an invalid answer, before it fills memory", () => {
    const decoder = sseDecoder();
    const chunk = `data: ${"x".repeat(1024 * 1024)}`;
    expect(() => {
      for (let fed = 0; fed <= MAX_EVENT_CHARS; fed += chunk.length) decoder.push(`${chunk}\n`);
    }).toThrow(expect.objectContaining({ name: "UpstreamError", message: expect.stringContaining("too long") }));
  });
});

describe("StreamTranslator", () => {
  const event = (data: Record<string, unknown>) => ({ event: String(data.type), data: JSON.stringify(data) });

  it("throws an error event as a UpstreamError, retryable when the upstream is overloaded", () => {
    const overloaded = event({ type: "error", error: { type: "overloaded_error", message: "Overloaded" } });
    expect(() => new StreamTranslator().handle(overloaded)).toThrow(
      expect.objectContaining({ name: "UpstreamError", retryable: true, status: 529 }),
    );
    const invalid = event({ type: "error", error: { type: "invalid_request_error", message: "bad" } });
    expect(() => new StreamTranslator().handle(invalid)).toThrow(expect.objectContaining({ retryable: false }));
  });

  it("numbers tool calls among tool blocks only, gives an input-less call {}, and counts cached input", () => {
    const translator = new StreamTranslator();
    const parts = [
      event({ type: "message_start", message: { usage: { input_tokens: 5, cache_read_input_tokens: 100 } } }),
      event({ type: "content_block_start", index: 0, content_block: { type: "text", text: "" } }),
      event({ type: "content_block_delta", index: 0, delta: { type: "text_delta", text: "ok" } }),
      event({ type: "content_block_stop", index: 0 }),
      event({ type: "content_block_start", index: 1, content_block: { type: "tool_use", id: "t1", name: "now" } }),
      event({ type: "content_block_delta", index: 1, delta: { type: "input_json_delta", partial_json: "" } }),
      event({ type: "content_block_stop", index: 1 }),
      event({ type: "content_block_start", index: 2, content_block: { type: "tool_use", id: "t2", name: "f" } }),
      event({ type: "content_block_delta", index: 2, delta: { type: "input_json_delta", partial_json: '{"a":1}' } }),
      event({ type: "content_block_stop", index: 2 }),
      event({ type: "message_delta", delta: { stop_reason: "tool_use" }, usage: { output_tokens: 12 } }),
      event({ type: "message_stop" }),
    ].flatMap((e) => translator.handle(e));
    expect(parts).toEqual([
      { type: "text", choice: 0, text: "ok" },
      { type: "tool_call", choice: 0, call: 0, id: "t1", name: "now", arguments: "" },
      { type: "tool_call", choice: 0, call: 0, arguments: "{}" },
      { type: "tool_call", choice: 0, call: 1, id: "t2", name: "f", arguments: "" },
      { type: "tool_call", choice: 0, call: 1, arguments: '{"a":1}' },
      { type: "finish", choice: 0, reason: "tool_calls" },
      { type: "usage", inputTokens: 105, outputTokens: 12 },
    ]);
    expect(translator.done).toBe(true);
  });
});
