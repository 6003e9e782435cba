// @ts-check
/**
 * A local simulator of the OpenAI HTTP API, for integration tests and an offline `npm run dev`.
 * It is a test double of an external service: it speaks OpenAI's wire format as the official
 * `openai` SDK expects it (objects, SSE chunks, errors, base64 embeddings, multipart uploads),
 * with a canned model that echoes the last user message, and knows nothing of Stratus.
 *
 * Behaviour is scripted per scenario (`[scenario:<id>]` in a request's text, steps and recorded
 * requests under /__sim/scenarios/<id>): see llm-scripts.mjs.
 */
import { createHash } from "node:crypto";
import {
  ApiError,
  countTokens,
  Exchange,
  HUGE_INDEX,
  isObject,
  newId,
  parseJsonObject,
  planAnswer,
  promptTokens,
  readBody,
  reportedUsage,
  Scenarios,
  scenarioIn,
  startServer,
  tokenPieces,
} from "./llm-scripts.mjs";

/** @import { IncomingMessage, ServerResponse } from "node:http" */
/** @import { Answer, HostileMode, Obj, RunningSimulator } from "./llm-scripts.mjs" */

/**
 * @typedef {{ body: Obj, scenario?: string, recorded: unknown }} Parsed a request body, the
 *   scenario its text names, and what to record of it
 * @typedef {(exchange: Exchange, body: Obj, baseUrl: string) => Promise<void>} Handler
 */

const MODELS = ["gpt-4o-mini", "gpt-4o", "text-embedding-3-small", "whisper-1", "tts-1", "dall-e-3"];
const MODELS_CREATED = 1_700_000_000;
const DEFAULT_EMBEDDING_DIMENSIONS = 8;
/** A 1×1 PNG: images are about the wire format here, not about pictures. */
const TINY_PNG = Buffer.from(
  "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==",
  "base64",
);

/**
 * Starts an OpenAI simulator; any non-empty Bearer key is accepted.
 * @param {{ port?: number, host?: string }} [options]
 * @returns {Promise<RunningSimulator>}
 */
export async function startOpenAISimulator({ port = 0, host = "127.0.0.1" } = {}) {
  const scenarios = new Scenarios();
  return startServer({
    port,
    host,
    name: "OpenAI",
    scenarios,
    handle: (request, response, baseUrl, hostile) => serve(scenarios, request, response, baseUrl, hostile),
  });
}

/** @type {Record<string, { parse: (body: Buffer, request: IncomingMessage) => Parsed, handler: Handler }>} */
const POST_ROUTES = {
  "/v1/chat/completions": { parse: parseJson(chatText), handler: chatCompletions },
  "/v1/embeddings": { parse: parseJson((body) => inputStrings(body.input).join("\n")), handler: embeddings },
  "/v1/images/generations": { parse: parseJson((body) => String(body.prompt ?? "")), handler: images },
  "/v1/audio/speech": { parse: parseJson((body) => String(body.input ?? "")), handler: speech },
  "/v1/audio/transcriptions": { parse: parseTranscriptionForm, handler: transcription },
};

/**
 * @param {Scenarios} scenarios @param {IncomingMessage} request @param {ServerResponse} response
 * @param {string} baseUrl @param {HostileMode} [hostile]
 */
async function serve(scenarios, request, response, baseUrl, hostile) {
  const { pathname } = new URL(request.url ?? "/", baseUrl);
  const method = request.method ?? "GET";
  const exchange = new Exchange(request, response, { "x-request-id": newId("req_") }, hostile);
  const body = await readBody(request);
  if (method === "GET" && /^\/files\/img_\w+\.png$/.test(pathname)) {
    // Generated images' URLs, public as OpenAI's signed blob URLs are.
    return exchange.send(200, TINY_PNG, { "content-type": "image/png" });
  }
  const route = method === "POST" ? POST_ROUTES[pathname] : undefined;
  try {
    let parsed;
    if (route) {
      parsed = route.parse(body, request);
      exchange.enter(scenarios, parsed.scenario, parsed.recorded);
    }
    if (!/^Bearer \S+/.test(request.headers.authorization ?? "")) throw unauthorized(request.headers.authorization);
    if (method === "GET" && pathname.startsWith("/v1/models")) return listModels(exchange, pathname);
    if (!route || !parsed) throw new ApiError(404, `Invalid URL (${method} ${pathname})`);
    await route.handler(exchange, parsed.body, baseUrl);
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    exchange.sendJson(error.status, errorBody(error));
  }
}

/** OpenAI's error shape, with its usual type, code and message for the status when not given. */
function errorBody(/** @type {ApiError} */ error) {
  const rateLimited = error.status === 429;
  const serverError = error.status >= 500;
  const defaultType = rateLimited ? "requests" : serverError ? "server_error" : "invalid_request_error";
  const defaultMessage = rateLimited
    ? "Rate limit reached for requests (simulated). Please try again later."
    : serverError
      ? "The server had an error while processing your request. Sorry about that!"
      : `Request failed with status ${error.status} (simulated).`;
  return {
    error: {
      message: error.message || defaultMessage,
      type: error.type ?? defaultType,
      param: error.param ?? null,
      code: error.code ?? (rateLimited ? "rate_limit_exceeded" : null),
    },
  };
}

function unauthorized(/** @type {string | undefined} */ header) {
  return header
    ? new ApiError(401, "Incorrect API key provided. The simulator accepts any non-empty Bearer key.", {
        code: "invalid_api_key",
      })
    : new ApiError(
        401,
        "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
      );
}

const invalid = (/** @type {string} */ message, /** @type {string} */ param) => new ApiError(400, message, { param });

/** A JSON body parser that finds the scenario in the text `textOf` picks. */
function parseJson(/** @type {(body: Obj) => string} */ textOf) {
  return (/** @type {Buffer} */ raw) => {
    const body = parseJsonObject(
      raw,
      "We could not parse the JSON body of your request. The OpenAI API expects a JSON payload.",
    );
    return { body, scenario: scenarioIn(textOf(body)), recorded: body };
  };
}

function stringParam(/** @type {Obj} */ body, /** @type {string} */ param) {
  const value = body[param];
  if (typeof value !== "string" || value === "") throw invalid(`Missing required parameter: '${param}'.`, param);
  return value;
}

/** @returns {number | undefined} */
function intParam(/** @type {Obj} */ body, /** @type {string} */ param, min = 1, max = Number.MAX_SAFE_INTEGER) {
  const value = body[param];
  if (value === undefined || value === null) return undefined;
  if (!Number.isInteger(value) || value < min || value > max) {
    throw invalid(`Invalid '${param}': expected an integer between ${min} and ${max}.`, param);
  }
  return value;
}

/** @returns {string} */
function enumParam(/** @type {Obj} */ body, /** @type {string} */ param, /** @type {string[]} */ allowed) {
  const value = body[param] ?? allowed[0];
  if (!allowed.includes(value)) throw invalid(`Invalid '${param}': expected one of ${allowed.join(", ")}.`, param);
  return value;
}

const now = () => Math.floor(Date.now() / 1000);

// ---------------------------------------------------------------------------------------------
// Models
// ---------------------------------------------------------------------------------------------

function listModels(/** @type {Exchange} */ exchange, /** @type {string} */ pathname) {
  const models = MODELS.map((id) => ({ id, object: "model", created: MODELS_CREATED, owned_by: "system" }));
  if (pathname === "/v1/models") return exchange.sendJson(200, { object: "list", data: models });
  const model = models.find((candidate) => pathname === `/v1/models/${candidate.id}`);
  if (!model) {
    throw new ApiError(404, "The model does not exist or you do not have access to it.", { code: "model_not_found" });
  }
  exchange.sendJson(200, model);
}

// ---------------------------------------------------------------------------------------------
// Chat completions
// ---------------------------------------------------------------------------------------------

/** The text of a message's content: a string, or the text of its parts (images carry none). */
function contentText(/** @type {unknown} */ content) {
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) return "";
  return content
    .filter((part) => isObject(part) && part.type === "text" && typeof part.text === "string")
    .map((part) => part.text)
    .join("\n");
}

/** Everything a message says, as counted in the prompt: its content and its tool calls' arguments. */
function messageText(/** @type {Obj} */ message) {
  const calls = Array.isArray(message.tool_calls) ? message.tool_calls : [];
  const args = calls.map((/** @type {Obj} */ call) => String(call?.function?.arguments ?? ""));
  return [contentText(message.content), ...args].filter(Boolean).join("\n");
}

function chatText(/** @type {Obj} */ body) {
  return Array.isArray(body.messages) ? body.messages.filter(isObject).map(messageText).join("\n") : "";
}

/** The default reply: the echo of the last user message, as JSON when a JSON format is asked. */
function defaultReply(/** @type {Obj[]} */ messages, /** @type {unknown} */ format) {
  const lastUser = [...messages].reverse().find((message) => message.role === "user" && contentText(message.content));
  const echo = `Echo: ${lastUser ? contentText(lastUser.content) : ""}`;
  if (!isObject(format)) return echo;
  const { type, json_schema: jsonSchema } = /** @type {Obj} */ (format);
  if (type === "json_object") return JSON.stringify({ echo });
  if (type === "json_schema") return JSON.stringify(sampleOf(jsonSchema?.schema, echo));
  return echo;
}

/**
 * A small value matching a JSON schema, for structured outputs: the echo for strings, the first
 * option of enums and unions, zero values otherwise.
 * @returns {unknown}
 */
function sampleOf(/** @type {unknown} */ schema, /** @type {string} */ echo) {
  if (!isObject(schema)) return null;
  const { const: constant, enum: options, anyOf, oneOf, type, properties } = /** @type {Obj} */ (schema);
  if (constant !== undefined) return constant;
  if (Array.isArray(options)) return options[0];
  if (Array.isArray(anyOf ?? oneOf)) return sampleOf((anyOf ?? oneOf)[0], echo);
  switch (Array.isArray(type) ? type[0] : type) {
    case "object":
      return Object.fromEntries(Object.entries(properties ?? {}).map(([key, value]) => [key, sampleOf(value, echo)]));
    case "array":
      return [];
    case "string":
      return echo;
    case "integer":
    case "number":
      return 0;
    case "boolean":
      return false;
    default:
      return null;
  }
}

/** @type {Handler} */
async function chatCompletions(exchange, body) {
  const model = stringParam(body, "model");
  const messages = body.messages;
  if (!Array.isArray(messages) || messages.length === 0 || !messages.every(isObject)) {
    throw invalid("'messages' must be a non-empty array of message objects.", "messages");
  }
  const n = intParam(body, "n", 1, 4) ?? 1;
  const maxTokens = intParam(body, "max_completion_tokens") ?? intParam(body, "max_tokens");
  const toolsOffered = Array.isArray(body.tools) && body.tools.length > 0 && body.tool_choice !== "none";
  const text = defaultReply(messages, body.response_format);
  const answer = planAnswer(exchange.step, { text, maxTokens, toolsOffered });
  const counted = reportedUsage(exchange.step, promptTokens(messages.map(messageText)), answer.tokens * n);
  const usage = {
    prompt_tokens: counted.prompt,
    completion_tokens: counted.completion,
    total_tokens: counted.prompt + counted.completion,
    prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
    completion_tokens_details: {
      reasoning_tokens: 0,
      audio_tokens: 0,
      accepted_prediction_tokens: 0,
      rejected_prediction_tokens: 0,
    },
  };
  const head = { id: newId("chatcmpl-", 29), created: now(), model };
  if (!(await exchange.begin())) return;
  if (body.stream === true) {
    const includeUsage = body.stream_options?.include_usage === true;
    return streamChat(exchange, head, answer, n, includeUsage ? usage : undefined);
  }
  if (exchange.hostile === "garbage" || exchange.hostile === "huge") return exchange.sendGarbage();
  const choices = Array.from({ length: n }, (_, index) => ({
    index: exchange.hostile === "huge_index" ? HUGE_INDEX + index : index,
    message: exchange.hostile === "wrong_types" ? { role: "assistant", content: 42 } : answerMessage(answer),
    logprobs: null,
    finish_reason: finishReason(answer),
  }));
  exchange.sendJson(200, {
    ...head,
    object: "chat.completion",
    choices,
    usage,
    service_tier: "default",
    system_fingerprint: "fp_simulator",
  });
}

function finishReason(/** @type {Answer} */ answer) {
  if (answer.kind === "tool") return "tool_calls";
  return answer.truncated ? "length" : "stop";
}

function answerMessage(/** @type {Answer} */ answer) {
  if (answer.kind === "text") return { role: "assistant", content: answer.text, refusal: null, annotations: [] };
  const call = { id: newId("call_"), type: "function", function: { name: answer.name, arguments: answer.arguments } };
  return { role: "assistant", content: null, refusal: null, annotations: [], tool_calls: [call] };
}

/**
 * Streams the choices one after the other as OpenAI's chunks: the role, the content (or the tool
 * call: id and name, then its arguments in pieces), the finish reason; then the usage if asked.
 * Hostile modes spoil the second content chunk (the client of a streamed answer has bytes by
 * then): its content of the wrong type, its index huge, or not JSON at all.
 * @param {Exchange} exchange @param {{ id: string, created: number, model: string }} head
 * @param {Answer} answer @param {number} n @param {Obj | undefined} usage
 */
async function streamChat(exchange, head, answer, n, usage) {
  const chunk = (/** @type {Obj[]} */ choices) => ({
    ...head,
    object: "chat.completion.chunk",
    service_tier: "default",
    system_fingerprint: "fp_simulator",
    choices,
    ...(usage ? { usage: null } : {}),
    // `extras`: members OpenAI's format does not have, which a client must never see.
    ...(exchange.hostile === "extras" ? { x_provider: { usage: { cost_usd: 0.5 }, upstream: "secret-host" } } : {}),
  });
  const delta = (/** @type {number} */ index, /** @type {Obj} */ content, /** @type {string | null} */ finish = null) =>
    chunk([
      exchange.hostile === "extras"
        ? {
            index,
            delta: { ...content, reasoning_content: "hidden" },
            logprobs: { content: [] },
            finish_reason: finish,
          }
        : { index, delta: content, logprobs: null, finish_reason: finish },
    ]);
  /** A content chunk as the hostile mode spoils it. @returns {unknown} */
  const spoiled = (/** @type {number} */ index, /** @type {string} */ piece) => {
    if (exchange.hostile === "wrong_types") return delta(index, { content: 42 });
    if (exchange.hostile === "huge_index") return delta(HUGE_INDEX, { content: piece });
    if (exchange.hostile === "garbage") return "{not json";
    if (exchange.hostile === "huge") return `"${"a".repeat(5 * 1024 * 1024)}`;
    return delta(index, { content: piece });
  };

  exchange.startStream();
  for (let index = 0; index < n; index++) {
    if (answer.kind === "text") {
      if (!(await exchange.event(delta(index, { role: "assistant", content: "", refusal: null })))) return;
      for (const [at, piece] of tokenPieces(answer.text).entries()) {
        const data = at === 1 ? spoiled(index, piece) : delta(index, { content: piece });
        if (!(await exchange.event(data, { content: true }))) return;
      }
    } else {
      const opening = {
        index: exchange.hostile === "huge_index" ? HUGE_INDEX : 0,
        id: newId("call_"),
        type: "function",
        function: { name: answer.name, arguments: "" },
      };
      if (!(await exchange.event(delta(index, { role: "assistant", content: null, tool_calls: [opening] })))) return;
      for (const piece of tokenPieces(answer.arguments)) {
        const fragment = { tool_calls: [{ index: 0, function: { arguments: piece } }] };
        if (!(await exchange.event(delta(index, fragment), { content: true }))) return;
      }
    }
    if (!(await exchange.event(delta(index, {}, finishReason(answer))))) return;
  }
  if (usage && !(await exchange.event({ ...chunk([]), usage }))) return;
  if (await exchange.event("[DONE]")) exchange.endStream();
}

// ---------------------------------------------------------------------------------------------
// Embeddings, images, speech
// ---------------------------------------------------------------------------------------------

/** The strings of an embeddings input (token arrays have none). */
function inputStrings(/** @type {unknown} */ input) {
  if (typeof input === "string") return [input];
  return Array.isArray(input) ? input.filter((item) => typeof item === "string") : [];
}

/** A deterministic unit vector for a text: the same input always embeds the same. */
function embed(/** @type {string} */ text, /** @type {number} */ dimensions) {
  const values = [];
  for (let block = 0; values.length < dimensions; block++) {
    const digest = createHash("sha256").update(`${block}:${text}`).digest();
    for (let i = 0; i < digest.length && values.length < dimensions; i += 2)
      values.push(digest.readUInt16BE(i) / 32767.5 - 1);
  }
  const norm = Math.hypot(...values) || 1;
  // Rounded to float32, so the JSON floats and the base64 encoding carry the same numbers.
  return values.map((value) => Math.fround(value / norm));
}

/** @type {Handler} */
async function embeddings(exchange, body) {
  const model = stringParam(body, "model");
  const { input } = body;
  const items = Array.isArray(input) && !input.every((item) => typeof item === "number") ? input : [input];
  const valid = (/** @type {unknown} */ item) =>
    (typeof item === "string" && item !== "") ||
    (Array.isArray(item) && item.length > 0 && item.every((token) => Number.isInteger(token)));
  if (items.length === 0 || !items.every(valid)) {
    throw invalid("'input' must be a non-empty string, array of strings, or array of token arrays.", "input");
  }
  const dimensions = intParam(body, "dimensions") ?? DEFAULT_EMBEDDING_DIMENSIONS;
  const base64 = enumParam(body, "encoding_format", ["float", "base64"]) === "base64";
  const tokens = items.reduce((sum, item) => sum + (typeof item === "string" ? countTokens(item) : item.length), 0);
  const reported = reportedUsage(exchange.step, tokens, 0).prompt;
  if (!(await exchange.begin())) return;
  if (exchange.hostile === "garbage" || exchange.hostile === "huge") return exchange.sendGarbage();
  const data = items.map((item, index) => {
    const vector = embed(typeof item === "string" ? item : JSON.stringify(item), dimensions);
    const embedding = base64 ? Buffer.from(new Float32Array(vector).buffer).toString("base64") : vector;
    if (exchange.hostile === "wrong_types") return { object: "embedding", index, embedding: vector.map(String) };
    return { object: "embedding", index: exchange.hostile === "huge_index" ? HUGE_INDEX + index : index, embedding };
  });
  exchange.sendJson(200, {
    object: "list",
    data,
    model,
    usage: { prompt_tokens: reported, total_tokens: reported },
  });
}

/** @type {Handler} */
async function images(exchange, body, baseUrl) {
  const prompt = stringParam(body, "prompt");
  const n = intParam(body, "n", 1, 10) ?? 1;
  const format = enumParam(body, "response_format", ["url", "b64_json"]);
  if (!(await exchange.begin())) return;
  if (exchange.hostile === "garbage" || exchange.hostile === "huge") return exchange.sendGarbage();
  const data = Array.from({ length: n }, () => {
    if (exchange.hostile === "wrong_types") return { url: 42, b64_json: ["not", "base64"], revised_prompt: {} };
    return format === "url"
      ? { url: `${baseUrl}/files/${newId("img_")}.png`, revised_prompt: prompt }
      : { b64_json: TINY_PNG.toString("base64"), revised_prompt: prompt };
  });
  exchange.sendJson(200, { created: now(), data });
}

const SPEECH_CONTENT_TYPES = {
  mp3: "audio/mpeg",
  opus: "audio/opus",
  aac: "audio/aac",
  flac: "audio/flac",
  wav: "audio/wav",
  pcm: "audio/pcm",
};
const SAMPLE_RATE = 24_000; // OpenAI's speech is 24 kHz mono
const CHARACTERS_PER_SECOND = 15;

/** @type {Handler} */
async function speech(exchange, body) {
  stringParam(body, "model");
  stringParam(body, "voice");
  const input = stringParam(body, "input");
  if (input.length > 4096) throw invalid("'input' is longer than 4096 characters.", "input");
  const format = /** @type {keyof typeof SPEECH_CONTENT_TYPES} */ (
    enumParam(body, "response_format", Object.keys(SPEECH_CONTENT_TYPES))
  );
  if (!(await exchange.begin())) return;
  if (exchange.hostile === "wrong_types" || exchange.hostile === "garbage") {
    // A page where audio should be: a client shown it as HTML would run its script.
    return exchange.send(200, "<script>alert(document.domain)</script>", { "content-type": "text/html" });
  }
  const seconds = Math.max(0.5, input.length / CHARACTERS_PER_SECOND);
  exchange.send(200, silence(format, seconds), { "content-type": SPEECH_CONTENT_TYPES[format] });
}

/**
 * Silent audio that looks right to a sniffer: a WAV header over 16-bit PCM, MPEG-2 layer III
 * frame headers for mp3 (32 kbit/s, 24 kHz mono: 96-byte frames of 24 ms), and for the other
 * formats their magic bytes over silence.
 */
function silence(/** @type {keyof typeof SPEECH_CONTENT_TYPES} */ format, /** @type {number} */ seconds) {
  if (format === "pcm" || format === "wav") {
    const pcm = Buffer.alloc(Math.round(seconds * SAMPLE_RATE) * 2);
    if (format === "pcm") return pcm;
    const header = Buffer.alloc(44);
    header.write("RIFF", 0);
    header.writeUInt32LE(36 + pcm.length, 4);
    header.write("WAVEfmt ", 8);
    header.writeUInt32LE(16, 16); // fmt chunk size
    header.writeUInt16LE(1, 20); // PCM
    header.writeUInt16LE(1, 22); // mono
    header.writeUInt32LE(SAMPLE_RATE, 24);
    header.writeUInt32LE(SAMPLE_RATE * 2, 28); // bytes per second
    header.writeUInt16LE(2, 32); // bytes per sample frame
    header.writeUInt16LE(16, 34); // bits per sample
    header.write("data", 36);
    header.writeUInt32LE(pcm.length, 40);
    return Buffer.concat([header, pcm]);
  }
  const frames = Math.ceil(seconds / 0.024);
  if (format === "mp3") {
    const frame = Buffer.alloc(96);
    frame.set([0xff, 0xf3, 0x44, 0xc0]);
    return Buffer.concat(Array.from({ length: frames }, () => frame));
  }
  const magic = { opus: "OggS", aac: "\xff\xf1", flac: "fLaC" }[format];
  return Buffer.concat([Buffer.from(magic, "latin1"), Buffer.alloc(frames * 96)]);
}

// ---------------------------------------------------------------------------------------------
// Transcriptions
// ---------------------------------------------------------------------------------------------

/**
 * The parts of a multipart/form-data body: text fields, and files with their bytes.
 * @returns {{ fields: Record<string, string>, files: Record<string, { filename: string, contentType: string, data: Buffer }> }}
 */
function parseMultipart(/** @type {Buffer} */ body, /** @type {string} */ contentType) {
  const boundary = /boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType);
  if (!boundary) throw new ApiError(400, "The request must be multipart/form-data with a boundary.");
  const delimiter = Buffer.from(`--${boundary[1] ?? boundary[2]}`);
  /** @type {Record<string, string>} */
  const fields = {};
  /** @type {Record<string, { filename: string, contentType: string, data: Buffer }>} */
  const files = {};
  let start = body.indexOf(delimiter);
  while (start >= 0) {
    const next = body.indexOf(delimiter, start + delimiter.length);
    if (next < 0) break;
    // A part sits between the CRLF ending its delimiter line and the CRLF before the next one.
    const part = body.subarray(start + delimiter.length + 2, next - 2);
    const headerEnd = part.indexOf("\r\n\r\n");
    const head = part.subarray(0, headerEnd).toString("utf8");
    const data = part.subarray(headerEnd + 4);
    const name = /;\s*name="([^"]*)"/i.exec(head)?.[1];
    const filename = /;\s*filename="([^"]*)"/i.exec(head)?.[1];
    if (name !== undefined && headerEnd >= 0) {
      if (filename === undefined) fields[name] = data.toString("utf8");
      else {
        const type = /^content-type:\s*(.+)$/im.exec(head)?.[1]?.trim() ?? "application/octet-stream";
        files[name] = { filename, contentType: type, data };
      }
    }
    start = next;
  }
  return { fields, files };
}

/** Parses the upload; what is recorded is its fields and the file's name, type and size. */
function parseTranscriptionForm(/** @type {Buffer} */ raw, /** @type {IncomingMessage} */ request) {
  const { fields, files } = parseMultipart(raw, request.headers["content-type"] ?? "");
  const file = files.file && {
    filename: files.file.filename,
    contentType: files.file.contentType,
    size: files.file.data.length,
  };
  // The prompt is the only text a transcription request carries, so it names the scenario.
  return { body: { ...fields, file }, scenario: scenarioIn(fields.prompt ?? ""), recorded: { ...fields, file } };
}

const LANGUAGES = { en: "english", fr: "french", de: "german", es: "spanish", it: "italian", pt: "portuguese" };
const SEGMENT_SECONDS = 5;
const BYTES_PER_SECOND = 16_000; // a 128 kbit/s upload

/**
 * The canned transcript of a file, derived from its size alone: its duration at 128 kbit/s
 * (at least a second), in segments of 5 seconds.
 */
function transcriptOf(/** @type {number} */ size) {
  const duration = Math.max(1, Math.round((size / BYTES_PER_SECOND) * 100) / 100);
  const count = Math.ceil(duration / SEGMENT_SECONDS);
  const segments = Array.from({ length: count }, (_, id) => ({
    id,
    seek: id * SEGMENT_SECONDS * 100,
    start: id * SEGMENT_SECONDS,
    end: Math.min(duration, (id + 1) * SEGMENT_SECONDS),
    text: ` Simulated transcript, part ${id + 1} of ${count}, of a ${size}-byte file.`,
    tokens: [],
    temperature: 0,
    avg_logprob: -0.1,
    compression_ratio: 1,
    no_speech_prob: 0,
  }));
  return { duration, segments, text: segments.map((segment) => segment.text.trim()).join(" ") };
}

/** A subtitle timestamp: 00:01:02,500 for SRT, 00:01:02.500 for WebVTT. */
function timestamp(/** @type {number} */ seconds, /** @type {string} */ separator) {
  const ms = Math.round(seconds * 1000);
  const pad = (/** @type {number} */ value, width = 2) => String(value).padStart(width, "0");
  return `${pad(Math.floor(ms / 3_600_000))}:${pad(Math.floor(ms / 60_000) % 60)}:${pad(Math.floor(ms / 1000) % 60)}${separator}${pad(ms % 1000, 3)}`;
}

/** @type {Handler} */
async function transcription(exchange, body) {
  stringParam(body, "model");
  if (!body.file) throw invalid("Missing required parameter: 'file'.", "file");
  const format = enumParam(body, "response_format", ["json", "text", "verbose_json", "srt", "vtt"]);
  const code = typeof body.language === "string" && body.language ? body.language : "en";
  if (!(await exchange.begin())) return;
  if (exchange.hostile === "garbage" || exchange.hostile === "huge") return exchange.sendGarbage();
  const transcript = transcriptOf(body.file.size);
  const { segments, text } = transcript;
  /** @type {any} the duration to report: the step's override may be anything */
  const duration = exchange.step.usage?.seconds ?? transcript.duration;
  const usage = { type: "duration", seconds: Math.ceil(duration) };
  const plain = (/** @type {string} */ content) =>
    exchange.send(200, content, { "content-type": "text/plain; charset=utf-8" });
  const cues = segments.map(
    (segment, index) =>
      `${format === "srt" ? `${index + 1}\n` : ""}${timestamp(segment.start, format === "srt" ? "," : ".")} --> ` +
      `${timestamp(segment.end, format === "srt" ? "," : ".")}\n${segment.text.trim()}\n`,
  );
  if (format === "json") return exchange.sendJson(200, { text, usage });
  if (format === "text") return plain(`${text}\n`);
  if (format === "srt") return plain(cues.join("\n"));
  if (format === "vtt") return plain(`WEBVTT\n\n${cues.join("\n")}`);
  const language = LANGUAGES[/** @type {keyof typeof LANGUAGES} */ (code)] ?? code;
  if (exchange.hostile === "wrong_types") {
    return exchange.sendJson(200, { task: "transcribe", language: 7, duration: "long", text: 42, segments: "many" });
  }
  exchange.sendJson(200, { task: "transcribe", language, duration, text, segments, usage });
}
