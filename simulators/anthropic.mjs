// @ts-check
/**
 * A local simulator of Anthropic's Messages API, for integration tests and an offline
 * `npm run dev`. It is a test double of an external service: it speaks Anthropic's wire format
 * (messages, content blocks, tool use, the SSE event sequence, errors) with a canned model that
 * echoes the last user message, and knows nothing of Stratus.
 *
 * Behaviour is scripted per scenario (`[scenario:<id>]` in a request's text, steps and recorded
 * requests under /__sim/scenarios/<id>): see llm-scripts.mjs.
 */
import {
  ApiError,
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
 * Starts an Anthropic simulator; any non-empty x-api-key is accepted.
 * @param {{ port?: number, host?: string }} [options]
 * @returns {Promise<RunningSimulator>}
 */
export async function startAnthropicSimulator({ port = 0, host = "127.0.0.1" } = {}) {
  const scenarios = new Scenarios();
  return startServer({
    port,
    host,
    name: "Anthropic",
    scenarios,
    handle: (request, response, _baseUrl, hostile) => serve(scenarios, request, response, hostile),
  });
}

/**
 * @param {Scenarios} scenarios @param {IncomingMessage} request @param {ServerResponse} response
 * @param {HostileMode} [hostile]
 */
async function serve(scenarios, request, response, hostile) {
  const requestId = newId("req_011", 21);
  const exchange = new Exchange(request, response, { "request-id": requestId }, hostile);
  const body = await readBody(request);
  const route = `${request.method} ${new URL(request.url ?? "/", "http://localhost").pathname}`;
  try {
    if (route !== "POST /v1/messages") throw new ApiError(404, "Not Found", { type: "not_found_error" });
    const params = parseJsonObject(body, "There was an error parsing the body of your request as JSON.");
    exchange.enter(scenarios, scenarioIn(conversationText(params)), params);
    if (!request.headers["x-api-key"]) {
      throw new ApiError(401, "x-api-key header is required", { type: "authentication_error" });
    }
    // Anthropic answers a missing version with 400, not 401: the key was fine.
    if (!request.headers["anthropic-version"]) throw new ApiError(400, "anthropic-version: header is required");
    await messages(exchange, params);
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    exchange.sendJson(error.status, {
      type: "error",
      error: { type: error.type ?? errorType(error.status), message: error.message || defaultMessage(error.status) },
      request_id: requestId,
    });
  }
}

/** Anthropic's error type for a status. */
function errorType(/** @type {number} */ status) {
  /** @type {Record<number, string>} */
  const types = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    529: "overloaded_error",
  };
  return types[status] ?? (status >= 500 ? "api_error" : "invalid_request_error");
}

function defaultMessage(/** @type {number} */ status) {
  if (status === 429) return "Number of requests has exceeded your rate limit (simulated).";
  if (status === 529) return "Overloaded";
  return status >= 500 ? "Internal server error" : `Request failed with status ${status} (simulated).`;
}

const invalid = (/** @type {string} */ message) => new ApiError(400, message);

/** The text of content: a string, or its text blocks (images and documents carry none). */
function plainText(/** @type {unknown} */ content) {
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) return "";
  return content
    .filter((block) => isObject(block) && block.type === "text" && typeof block.text === "string")
    .map((block) => block.text)
    .join("\n");
}

/** Everything a message says, as counted in the prompt: text, tool inputs and tool results. */
function messageText(/** @type {Obj} */ message) {
  if (!Array.isArray(message.content)) return plainText(message.content);
  return message.content
    .filter(isObject)
    .map((/** @type {Obj} */ block) => {
      if (block.type === "tool_use") return JSON.stringify(block.input ?? {});
      if (block.type === "tool_result") return plainText(block.content);
      return plainText([block]);
    })
    .filter(Boolean)
    .join("\n");
}

/** The system prompt and the messages, as one text (where a scenario marker is looked for). */
function conversationText(/** @type {Obj} */ params) {
  const messages = Array.isArray(params.messages) ? params.messages.filter(isObject) : [];
  return [plainText(params.system), ...messages.map(messageText)].join("\n");
}

/** POST /v1/messages */
async function messages(/** @type {Exchange} */ exchange, /** @type {Obj} */ params) {
  const { model, max_tokens: maxTokens, messages: conversation, system } = params;
  if (typeof model !== "string" || model === "") throw invalid("model: Field required");
  if (maxTokens === undefined) throw invalid("max_tokens: Field required");
  if (!Number.isInteger(maxTokens) || maxTokens < 1) throw invalid("max_tokens: must be an integer of at least 1");
  if (!Array.isArray(conversation) || conversation.length === 0 || !conversation.every(isObject)) {
    throw invalid("messages: at least one message is required");
  }
  const toolsOffered = Array.isArray(params.tools) && params.tools.length > 0 && params.tool_choice?.type !== "none";
  const lastUser = [...conversation].reverse().find((message) => message.role === "user" && plainText(message.content));
  const text = `Echo: ${lastUser ? plainText(lastUser.content) : ""}`;
  const answer = planAnswer(exchange.step, { text, maxTokens, toolsOffered });
  const texts = [...(system ? [plainText(system)] : []), ...conversation.map(messageText)];
  const usage = reportedUsage(exchange.step, promptTokens(texts), answer.tokens);
  const message = {
    id: newId("msg_01", 22),
    type: "message",
    role: "assistant",
    model,
    content: [contentBlock(answer)],
    stop_reason: stopReason(answer),
    stop_sequence: null,
    usage: {
      input_tokens: usage.prompt,
      output_tokens: usage.completion,
      cache_creation_input_tokens: 0,
      cache_read_input_tokens: 0,
      service_tier: "standard",
    },
  };
  if (!(await exchange.begin())) return;
  if (params.stream === true) return streamMessage(exchange, message, answer);
  if (exchange.hostile === "garbage") return exchange.sendGarbage();
  exchange.sendJson(200, message);
}

function stopReason(/** @type {Answer} */ answer) {
  if (answer.kind === "tool") return "tool_use";
  return answer.truncated ? "max_tokens" : "end_turn";
}

function contentBlock(/** @type {Answer} */ answer) {
  if (answer.kind === "text") return { type: "text", text: answer.text };
  return { type: "tool_use", id: newId("toolu_01", 22), name: answer.name, input: JSON.parse(answer.arguments) };
}

/**
 * Streams a message as Anthropic does: message_start (empty content, input tokens), the block's
 * start, a ping, its deltas (text, or the tool input's JSON in pieces), its stop, message_delta
 * (stop reason, output tokens) and message_stop. Hostile modes spoil the second delta (the
 * client of a streamed answer has bytes by then): its text of the wrong type, its block index
 * huge, or not JSON at all.
 * @param {Exchange} exchange @param {Obj} message the whole message @param {Answer} answer
 */
async function streamMessage(exchange, message, answer) {
  const send = (/** @type {Obj} */ data, content = false) => exchange.event(data, { event: data.type, content });
  /** @returns {Promise<boolean>} */
  const sendSpoiled = (/** @type {Obj} */ data) => {
    if (exchange.hostile === "garbage")
      return exchange.event("{not json", { event: "content_block_delta", content: true });
    if (exchange.hostile === "wrong_types") return send({ ...data, delta: { type: "text_delta", text: 42 } }, true);
    if (exchange.hostile === "huge_index") return send({ ...data, index: HUGE_INDEX }, true);
    return send(data, true);
  };
  const [block] = message.content;
  const opening = answer.kind === "text" ? { type: "text", text: "" } : { ...block, input: {} };
  const pieces = tokenPieces(answer.kind === "text" ? answer.text : answer.arguments);
  const delta = (/** @type {string} */ piece) =>
    answer.kind === "text" ? { type: "text_delta", text: piece } : { type: "input_json_delta", partial_json: piece };

  exchange.startStream();
  const start = { ...message, content: [], stop_reason: null, usage: { ...message.usage, output_tokens: 1 } };
  if (!(await send({ type: "message_start", message: start }))) return;
  if (!(await send({ type: "content_block_start", index: 0, content_block: opening }))) return;
  if (!(await send({ type: "ping" }))) return;
  for (const [at, piece] of pieces.entries()) {
    const event = { type: "content_block_delta", index: 0, delta: delta(piece) };
    if (!(await (at === 1 ? sendSpoiled(event) : send(event, true)))) return;
  }
  if (!(await send({ type: "content_block_stop", index: 0 }))) return;
  const stop = { stop_reason: message.stop_reason, stop_sequence: null };
  if (!(await send({ type: "message_delta", delta: stop, usage: { output_tokens: message.usage.output_tokens } }))) {
    return;
  }
  if (await send({ type: "message_stop" })) exchange.endStream();
}
