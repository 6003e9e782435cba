// @ts-check
// Smoke check of the OpenAI and Anthropic simulators over raw HTTP (their SDKs are not dependencies):
// `node simulators/verify-llm-simulators.mjs` prints "ok" or fails on the first wrong answer.
import assert from "node:assert/strict";
import { startAnthropicSimulator } from "./anthropic.mjs";
import { startOpenAISimulator } from "./openai.mjs";

/** @import { RequestRecord } from "./llm-scripts.mjs" */

const openai = await startOpenAISimulator();
const anthropic = await startAnthropicSimulator();
const openaiHeaders = { authorization: "Bearer sk-verify-key", "content-type": "application/json" };
const anthropicHeaders = {
  "x-api-key": "sk-ant-verify",
  "anthropic-version": "2023-06-01",
  "content-type": "application/json",
};

/** A response's JSON, untyped: the assertions check its shape. @returns {Promise<any>} */
const jsonOf = (/** @type {Response} */ response) => response.json();

/** @param {string} path @param {object} body @returns {Promise<any>} */
const postOpenAI = async (path, body, expectedStatus = 200) => {
  const response = await fetch(`${openai.url}${path}`, {
    method: "POST",
    headers: openaiHeaders,
    body: JSON.stringify(body),
  });
  assert.equal(response.status, expectedStatus, await response.clone().text());
  return response.json();
};

/** Defines a scenario's steps on a simulator. @param {string} url @param {string} id @param {object[]} steps */
const script = async (url, id, steps) => {
  const response = await fetch(`${url}/__sim/scenarios/${id}`, { method: "POST", body: JSON.stringify({ steps }) });
  assert.equal(response.status, 200, await response.clone().text());
};

/** @param {string} url @param {string} id @returns {Promise<(RequestRecord & { body: any })[]>} */
const requestsOf = async (url, id) => (await jsonOf(await fetch(`${url}/__sim/scenarios/${id}/requests`))).data;

/**
 * Reads a whole SSE body, noting whether the connection broke; events as { event?, data } with
 * data parsed unless it is "[DONE]".
 * @param {Response} response
 */
async function readEvents(response) {
  assert.match(response.headers.get("content-type") ?? "", /^text\/event-stream/);
  let text = "";
  let broken = false;
  const decoder = new TextDecoder();
  try {
    for await (const chunk of /** @type {AsyncIterable<Uint8Array>} */ (response.body)) text += decoder.decode(chunk);
  } catch {
    broken = true;
  }
  const events = text
    .split("\n\n")
    .filter(Boolean)
    .map((block) => {
      const event = /^event: (.*)$/m.exec(block)?.[1];
      const data = /^data: (.*)$/m.exec(block)?.[1] ?? "";
      return { event, data: data === "[DONE]" ? data : JSON.parse(data) };
    });
  return { events, broken };
}

/** @param {string} text @returns {Promise<{ events: any[], broken: boolean }>} */
const streamChat = async (text, extra = {}) => {
  const body = { model: "gpt-4o-mini", messages: [{ role: "user", content: text }], stream: true, ...extra };
  const response = await fetch(`${openai.url}/v1/chat/completions`, {
    method: "POST",
    headers: openaiHeaders,
    body: JSON.stringify(body),
  });
  assert.equal(response.status, 200);
  return readEvents(response);
};

/** Waits until a condition holds (records finish when the server sees the connection close). */
async function eventually(/** @type {() => Promise<boolean>} */ condition) {
  for (let attempt = 0; attempt < 100; attempt++) {
    if (await condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  assert.fail("condition never held");
}

try {
  // Authentication and models.
  const unauthorized = await fetch(`${openai.url}/v1/models`);
  assert.equal(unauthorized.status, 401);
  assert.deepEqual(Object.keys((await jsonOf(unauthorized)).error), ["message", "type", "param", "code"]);
  const models = await jsonOf(await fetch(`${openai.url}/v1/models`, { headers: openaiHeaders }));
  assert.ok(models.data.some((/** @type {{ id: string }} */ model) => model.id === "gpt-4o-mini"));

  // Chat, non-stream: the echo, counted usage, the cut at max_tokens.
  const messages = [
    { role: "system", content: "Be brief." },
    {
      role: "user",
      content: [
        { type: "text", text: "Hello there" },
        { type: "image_url", image_url: { url: "x" } },
      ],
    },
  ];
  const completion = await postOpenAI("/v1/chat/completions", { model: "gpt-4o-mini", messages, n: 2 });
  assert.equal(completion.object, "chat.completion");
  assert.equal(completion.choices.length, 2);
  assert.equal(completion.choices[0].message.content, "Echo: Hello there");
  assert.equal(completion.choices[0].finish_reason, "stop");
  // prompt: "Be brief." 3 + 3, "Hello there" 3 + 3; completion: 5 tokens × 2 choices
  assert.deepEqual(
    [completion.usage.prompt_tokens, completion.usage.completion_tokens, completion.usage.total_tokens],
    [12, 10, 22],
  );
  const cut = await postOpenAI("/v1/chat/completions", { model: "gpt-4o", messages, max_completion_tokens: 2 });
  assert.deepEqual([cut.choices[0].message.content, cut.choices[0].finish_reason], ["Echo: He", "length"]);
  const json = await postOpenAI("/v1/chat/completions", {
    model: "gpt-4o",
    messages,
    response_format: {
      type: "json_schema",
      json_schema: { name: "x", schema: { type: "object", properties: { n: { type: "integer" } } } },
    },
  });
  assert.deepEqual(JSON.parse(json.choices[0].message.content), { n: 0 });
  await postOpenAI("/v1/chat/completions", { model: "gpt-4o", messages: [] }, 400);

  // Chat, stream with include_usage.
  const stream = await streamChat("Stream me please", { stream_options: { include_usage: true } });
  assert.equal(stream.broken, false);
  const chunks = stream.events.map((event) => event.data);
  assert.equal(chunks[0].choices[0].delta.role, "assistant");
  const contentChunks = chunks.slice(1, -3);
  assert.equal(contentChunks.map((chunk) => chunk.choices[0].delta.content).join(""), "Echo: Stream me please");
  assert.ok(contentChunks.every((chunk) => chunk.choices[0].delta.content.length <= 4));
  assert.equal(chunks.at(-3).choices[0].finish_reason, "stop");
  assert.deepEqual(chunks.at(-2).choices, []);
  assert.equal(chunks.at(-2).usage.completion_tokens, 6);
  assert.equal(chunks.at(-1), "[DONE]");

  // Tool calls, streamed: id and name first, then the arguments in pieces.
  await script(openai.url, "tools", [{ toolCall: { name: "get_weather", arguments: { city: "Paris", unit: "c" } } }]);
  const tools = [{ type: "function", function: { name: "get_weather", parameters: { type: "object" } } }];
  const toolStream = await streamChat("[scenario:tools] Weather?", { tools });
  const toolChunks = toolStream.events.filter((event) => event.data !== "[DONE]").map((event) => event.data.choices[0]);
  const fragments = toolChunks.flatMap((choice) => choice.delta.tool_calls ?? []);
  assert.match(fragments[0].id, /^call_/);
  assert.equal(fragments[0].function.name, "get_weather");
  assert.ok(fragments.length > 3);
  const args = fragments.map((fragment) => fragment.function.arguments).join("");
  assert.deepEqual(JSON.parse(args), { city: "Paris", unit: "c" });
  assert.equal(toolChunks.at(-1).finish_reason, "tool_calls");
  const toolCompletion = await postOpenAI("/v1/chat/completions", {
    model: "gpt-4o-mini",
    messages: [{ role: "user", content: "[scenario:tools] Weather?" }],
    tools,
  });
  assert.equal(toolCompletion.choices[0].message.tool_calls[0].function.arguments, args);
  const [toolRequest] = await requestsOf(openai.url, "tools");
  assert.ok(toolRequest);
  assert.equal(toolRequest.headers.authorization, "Bearer s");
  assert.equal(toolRequest.body.tools[0].function.name, "get_weather");

  // A connection that breaks mid-stream: no [DONE], recorded as sent chunks, not as an abort.
  await script(openai.url, "break", [{ breakAfterChunks: 2 }]);
  const broken = await streamChat("[scenario:break] Tell me a long story");
  assert.ok(broken.broken || !broken.events.some((event) => event.data === "[DONE]"));
  assert.equal(broken.events.filter((event) => event.data.choices?.[0]?.delta.content).length, 2);
  await eventually(async () => (await requestsOf(openai.url, "break"))[0]?.endedAt != null);
  const [breakRecord] = await requestsOf(openai.url, "break");
  assert.deepEqual([breakRecord?.aborted, breakRecord?.chunksSent], [false, 2]);

  // A client that gives up mid-stream is recorded as aborted, and the stream stops.
  await script(openai.url, "abort", [{ tokenDelayMs: 30 }]);
  const controller = new AbortController();
  const aborting = await fetch(`${openai.url}/v1/chat/completions`, {
    method: "POST",
    headers: openaiHeaders,
    body: JSON.stringify({
      model: "gpt-4o-mini",
      messages: [{ role: "user", content: "[scenario:abort] a reply long enough to take a while to stream" }],
      stream: true,
    }),
    signal: controller.signal,
  });
  const reader = /** @type {ReadableStream<Uint8Array>} */ (aborting.body).getReader();
  await reader.read();
  controller.abort();
  await eventually(async () => (await requestsOf(openai.url, "abort"))[0]?.aborted === true);
  const [abortRecord] = await requestsOf(openai.url, "abort");
  assert.ok(abortRecord && abortRecord.chunksSent < 10 && abortRecord.endedAt !== null);

  // Scripted failures, then success; retry-after passes through.
  await script(openai.url, "retry", [
    { status: 429, headers: { "retry-after": "1" } },
    { status: 500, error: { type: "server_error", message: "boom" } },
    { reply: "Finally", usage: { prompt: 100 } },
  ]);
  const retryBody = { model: "gpt-4o-mini", messages: [{ role: "user", content: "[scenario:retry] hi" }] };
  const limited = await fetch(`${openai.url}/v1/chat/completions`, {
    method: "POST",
    headers: openaiHeaders,
    body: JSON.stringify(retryBody),
  });
  assert.equal(limited.status, 429);
  assert.equal(limited.headers.get("retry-after"), "1");
  assert.equal((await jsonOf(limited)).error.code, "rate_limit_exceeded");
  assert.equal((await postOpenAI("/v1/chat/completions", retryBody, 500)).error.message, "boom");
  const finally_ = await postOpenAI("/v1/chat/completions", retryBody);
  assert.deepEqual([finally_.choices[0].message.content, finally_.usage.prompt_tokens], ["Finally", 100]);
  assert.equal((await requestsOf(openai.url, "retry")).length, 3);
  const badScript = await fetch(`${openai.url}/__sim/scenarios/bad`, {
    method: "POST",
    body: JSON.stringify({ steps: [{ delay: 5 }] }),
  });
  assert.equal(badScript.status, 400);
  await fetch(`${openai.url}/__sim/scenarios/retry`, { method: "DELETE" });
  assert.deepEqual(await requestsOf(openai.url, "retry"), []);

  // Embeddings: deterministic unit vectors, dimensions, base64 as the SDK asks by default.
  const embedded = await postOpenAI("/v1/embeddings", { model: "text-embedding-3-small", input: ["a", "bb"] });
  assert.equal(embedded.data.length, 2);
  assert.equal(embedded.data[0].embedding.length, 8);
  assert.ok(Math.abs(Math.hypot(...embedded.data[0].embedding) - 1) < 1e-5);
  const encoded = await postOpenAI("/v1/embeddings", { model: "m", input: "a", encoding_format: "base64" });
  const bytes = Buffer.from(encoded.data[0].embedding, "base64");
  const decoded = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4);
  assert.deepEqual(Array.from(decoded), embedded.data[0].embedding);
  const wide = await postOpenAI("/v1/embeddings", { model: "m", input: "a", dimensions: 40 });
  assert.equal(wide.data[0].embedding.length, 40);
  assert.equal(embedded.usage.prompt_tokens, 2);

  // Images and speech.
  const image = await postOpenAI("/v1/images/generations", { model: "dall-e-3", prompt: "a cat" });
  const png = Buffer.from(await (await fetch(image.data[0].url)).arrayBuffer());
  assert.equal(png.subarray(1, 4).toString(), "PNG");
  const b64 = await postOpenAI("/v1/images/generations", { prompt: "a cat", n: 2, response_format: "b64_json" });
  assert.equal(Buffer.from(b64.data[1].b64_json, "base64").subarray(1, 4).toString(), "PNG");
  const speech = await fetch(`${openai.url}/v1/audio/speech`, {
    method: "POST",
    headers: openaiHeaders,
    body: JSON.stringify({ model: "tts-1", input: "Hello world", voice: "alloy", response_format: "wav" }),
  });
  assert.equal(speech.headers.get("content-type"), "audio/wav");
  assert.equal(
    Buffer.from(await speech.arrayBuffer())
      .subarray(0, 4)
      .toString(),
    "RIFF",
  );

  // Transcriptions: multipart upload, the transcript derived from the file size.
  /** @param {string} format @returns {Promise<any>} */
  const transcribe = async (format) => {
    const form = new FormData();
    form.append("file", new Blob([new Uint8Array(40_000)], { type: "audio/mpeg" }), "talk.mp3");
    form.append("model", "whisper-1");
    form.append("response_format", format);
    form.append("prompt", "[scenario:transcribe]");
    const response = await fetch(`${openai.url}/v1/audio/transcriptions`, {
      method: "POST",
      headers: { authorization: openaiHeaders.authorization },
      body: form,
    });
    assert.equal(response.status, 200);
    return format.includes("json") ? response.json() : response.text();
  };
  const verbose = await transcribe("verbose_json");
  assert.deepEqual([verbose.duration, verbose.language, verbose.segments.length], [2.5, "english", 1]);
  assert.equal((await transcribe("json")).text, verbose.text);
  assert.match(await transcribe("srt"), /^1\n00:00:00,000 --> 00:00:02,500\n/);
  assert.match(await transcribe("vtt"), /^WEBVTT\n\n00:00:00.000 --> 00:00:02.500\n/);
  const [upload] = await requestsOf(openai.url, "transcribe");
  assert.deepEqual(upload?.body.file, {
    filename: "talk.mp3",
    contentType: "audio/mpeg",
    size: 40_000,
  });

  // Anthropic: headers, validation, non-stream, stream event order, tool use.
  const postAnthropic = (/** @type {object} */ body, headers = anthropicHeaders) =>
    fetch(`${anthropic.url}/v1/messages`, { method: "POST", headers, body: JSON.stringify(body) });
  const request = {
    model: "claude-sonnet-4",
    max_tokens: 100,
    system: "Be brief.",
    messages: [{ role: "user", content: "Hi Claude" }],
  };
  const noKey = await postAnthropic(request, { ...anthropicHeaders, "x-api-key": "" });
  assert.equal(noKey.status, 401);
  assert.equal((await jsonOf(noKey)).error.type, "authentication_error");
  const noMaxTokens = await postAnthropic({ ...request, max_tokens: undefined });
  assert.equal(noMaxTokens.status, 400);
  assert.equal((await jsonOf(noMaxTokens)).error.type, "invalid_request_error");
  const message = await jsonOf(await postAnthropic(request));
  assert.deepEqual(message.content, [{ type: "text", text: "Echo: Hi Claude" }]);
  assert.deepEqual([message.stop_reason, message.usage.input_tokens, message.usage.output_tokens], ["end_turn", 12, 4]);
  const anthropicStream = await readEvents(await postAnthropic({ ...request, stream: true }));
  const order = anthropicStream.events.map((event) => event.event);
  assert.deepEqual(order, [
    "message_start",
    "content_block_start",
    "ping",
    "content_block_delta",
    "content_block_delta",
    "content_block_delta",
    "content_block_delta",
    "content_block_stop",
    "message_delta",
    "message_stop",
  ]);
  assert.ok(anthropicStream.events.every((event) => event.data.type === event.event));
  const streamed = anthropicStream.events.filter((event) => event.event === "content_block_delta");
  assert.equal(streamed.map((event) => event.data.delta.text).join(""), "Echo: Hi Claude");
  assert.equal(anthropicStream.events[0]?.data.message.usage.input_tokens, 12);
  assert.deepEqual(anthropicStream.events.at(-2)?.data.usage, { output_tokens: 4 });

  await script(anthropic.url, "claude-tools", [
    { status: 529 },
    { toolCall: { name: "lookup", arguments: { q: "stratus clouds" } } },
  ]);
  const toolRequestBody = {
    ...request,
    messages: [{ role: "user", content: [{ type: "text", text: "[scenario:claude-tools] look it up" }] }],
    tools: [{ name: "lookup", input_schema: { type: "object" } }],
    stream: true,
  };
  const overloaded = await postAnthropic(toolRequestBody);
  assert.equal(overloaded.status, 529);
  assert.equal((await jsonOf(overloaded)).error.type, "overloaded_error");
  const toolUse = await readEvents(await postAnthropic(toolRequestBody));
  const blockStart = toolUse.events.find((event) => event.event === "content_block_start")?.data.content_block;
  assert.deepEqual([blockStart.type, blockStart.name, blockStart.input], ["tool_use", "lookup", {}]);
  const partial = toolUse.events
    .filter((event) => event.event === "content_block_delta")
    .map((event) => event.data.delta.partial_json)
    .join("");
  assert.deepEqual(JSON.parse(partial), { q: "stratus clouds" });
  assert.equal(toolUse.events.find((event) => event.event === "message_delta")?.data.delta.stop_reason, "tool_use");
  const claudeRequests = await requestsOf(anthropic.url, "claude-tools");
  assert.equal(claudeRequests.length, 2);
  assert.equal(claudeRequests[0]?.headers["x-api-key"], "sk-ant-v");

  // Hostile modes, by step or by a /__hostile/<mode> base URL.
  await script(openai.url, "echo", [{ status: 401, hostile: "echo_headers" }]);
  const echoed = await postOpenAI(
    "/v1/chat/completions",
    { model: "gpt-4o-mini", messages: [{ role: "user", content: "[scenario:echo] hi" }] },
    401,
  );
  assert.match(echoed.error.message, /Bearer sk-verify-key/);
  const spoiled = await readEvents(
    await fetch(`${openai.url}/__hostile/huge_index/v1/chat/completions`, {
      method: "POST",
      headers: openaiHeaders,
      body: JSON.stringify({ model: "gpt-4o-mini", messages: [{ role: "user", content: "hi" }], stream: true }),
    }),
  );
  assert.ok(spoiled.events.some((event) => event.data?.choices?.[0]?.index === 1_000_000_000));
  const garbage = await fetch(`${openai.url}/__hostile/garbage/v1/embeddings`, {
    method: "POST",
    headers: openaiHeaders,
    body: JSON.stringify({ model: "text-embedding-3-small", input: "x" }),
  });
  assert.equal(garbage.status, 200);
  assert.ok(!(await garbage.text()).startsWith("{"));
  const wrongTypes = await readEvents(
    await fetch(`${anthropic.url}/__hostile/wrong_types/v1/messages`, {
      method: "POST",
      headers: anthropicHeaders,
      body: JSON.stringify({ ...request, stream: true }),
    }),
  );
  assert.ok(wrongTypes.events.some((event) => event.data?.delta?.text === 42));

  console.log("ok");
} finally {
  await Promise.all([openai.close(), anthropic.close()]);
}
