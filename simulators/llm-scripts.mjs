// @ts-check
/**
 * What the OpenAI and Anthropic simulators share: the scripted scenarios that tests drive them
 * with (steps, the control API under /__sim/scenarios, the requests recorded), the canned model
 * (an echo reply, 1 token per 4 characters) and the HTTP plumbing (an exchange that notices the
 * client going away, streams server-sent events and can cut the connection on purpose).
 *
 * Test files run in parallel against one simulator, so nothing is global: a request opts into a
 * scenario by carrying the marker `[scenario:<id>]` in its text, and anything else gets the
 * default behaviour.
 *
 * Hostile modes play an upstream that cannot be trusted, for the tests of what Stratus does
 * with one: a step's `hostile` field, or a base URL ending in `/__hostile/<mode>` (every request
 * under it, scenario or not, e.g. for a GET that carries no text):
 * - `echo_headers`: an error (the step's status, else 400) whose message repeats the request's
 *   headers, credentials included, as some proxies and self-hosted servers do;
 * - `wrong_types`: an answer of the right shape with values of the wrong JSON types;
 * - `huge_index`: indexes (choices, tool calls, vectors, content blocks) of 10⁹;
 *   (a streamed answer is spoiled at its second piece: after the first, which a client already has)
 * - `garbage`: a 200 whose body (or a stream event) is not JSON;
 * - `huge`: a 200 that does not end: a JSON body of 65 MiB, or a stream line of 5 MiB.
 * A step's `usage` may hold any JSON values (negative, huge, fractional, strings) as the counts
 * to report; broken streams are `breakAfterChunks`.
 */
import { randomBytes } from "node:crypto";
import { createServer } from "node:http";
import { setTimeout as delay } from "node:timers/promises";

/** @import { IncomingMessage, IncomingHttpHeaders, ServerResponse } from "node:http" */

/**
 * @typedef {{ url: string, port: number, close(): Promise<void> }} RunningSimulator
 * @typedef {Record<string, any>} Obj a parsed JSON body
 * @typedef {{ name: string, arguments: Obj }} ToolCall
 * @typedef {"echo_headers" | "wrong_types" | "huge_index" | "garbage" | "huge" | "extras"} HostileMode
 * @typedef {{ status?: number, error?: { type?: string, message?: string, code?: string },
 *   headers?: Record<string, string>, delayMs?: number, tokenDelayMs?: number, reply?: string,
 *   toolCall?: ToolCall, breakAfterChunks?: number, hostile?: HostileMode,
 *   usage?: { prompt?: unknown, completion?: unknown, seconds?: unknown } }} Step
 * @typedef {{ path: string, headers: Record<string, string>, body: unknown, startedAt: number,
 *   endedAt: number | null, aborted: boolean, chunksSent: number }} RequestRecord
 * @typedef {{ steps: Step[], next: number, requests: RequestRecord[] }} Scenario
 * @typedef {{ kind: "text", text: string, truncated: boolean, tokens: number }
 *   | { kind: "tool", name: string, arguments: string, tokens: number }} Answer what the model says
 */

const CHARS_PER_TOKEN = 4;

/** The canned tokenizer: 1 token per 4 characters, rounded up. */
export function countTokens(/** @type {string} */ text) {
  return Math.ceil(text.length / CHARS_PER_TOKEN);
}

/** Prompt tokens of a conversation: each message's text, plus 3 for the message itself. */
export function promptTokens(/** @type {string[]} */ messageTexts) {
  return messageTexts.reduce((sum, text) => sum + countTokens(text) + 3, 0);
}

/** A text in streamable pieces of about one token each. */
export function tokenPieces(/** @type {string} */ text) {
  return text.match(new RegExp(`[^]{1,${CHARS_PER_TOKEN}}`, "g")) ?? [];
}

/**
 * What the model answers: the step's tool call when the request offers tools, else the step's
 * reply or the default text, cut to maxTokens.
 * @param {Step} step @param {{ text: string, maxTokens?: number, toolsOffered: boolean }} request
 * @returns {Answer}
 */
export function planAnswer(step, { text, maxTokens, toolsOffered }) {
  if (step.toolCall && toolsOffered) {
    const { name } = step.toolCall;
    const args = JSON.stringify(step.toolCall.arguments);
    return { kind: "tool", name, arguments: args, tokens: countTokens(name) + countTokens(args) };
  }
  const full = step.reply ?? text;
  const cut = maxTokens === undefined ? full : full.slice(0, maxTokens * CHARS_PER_TOKEN);
  return { kind: "text", text: cut, truncated: cut.length < full.length, tokens: countTokens(cut) };
}

/**
 * Token counts to report: the counted ones, unless the step overrides them (with anything).
 * @returns {{ prompt: any, completion: any }}
 */
export function reportedUsage(
  /** @type {Step} */ step,
  /** @type {number} */ prompt,
  /** @type {number} */ completion,
) {
  return { prompt: step.usage?.prompt ?? prompt, completion: step.usage?.completion ?? completion };
}

/** The hostile modes a step or a `/__hostile/<mode>` prefix may ask for (see the file header). */
export const HOSTILE_MODES = ["echo_headers", "wrong_types", "huge_index", "garbage", "huge", "extras"];

/** An index no answer could have. */
export const HUGE_INDEX = 1_000_000_000;

/**
 * A base URL's hostile prefix: `/__hostile/<mode>/rest` is served as `/rest` in that mode.
 * @param {string} path @returns {{ mode: HostileMode | undefined, path: string }}
 */
export function hostilePrefix(path) {
  const match = /^\/__hostile\/([a-z_]+)(\/.*)$/.exec(path);
  if (!match?.[1] || !HOSTILE_MODES.includes(match[1])) return { mode: undefined, path };
  return { mode: /** @type {HostileMode} */ (match[1]), path: match[2] ?? "/" };
}

/** The error of `echo_headers`: the request's headers, as received, in the message. */
export function echoedHeaders(/** @type {Step} */ step, /** @type {IncomingHttpHeaders} */ headers) {
  return new ApiError(step.status ?? 400, `Bad request. Received headers: ${JSON.stringify(headers)}`);
}

/** The scenario id a text opts into with `[scenario:<id>]`, if any. */
export function scenarioIn(/** @type {string} */ text) {
  return /\[scenario:([\w.-]+)\]/.exec(text)?.[1];
}

const ALPHANUMERIC = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/** A random provider-style id: the prefix, then alphanumerics. */
export function newId(/** @type {string} */ prefix, length = 24) {
  return prefix + Array.from(randomBytes(length), (byte) => ALPHANUMERIC[byte % ALPHANUMERIC.length]).join("");
}

export function isObject(/** @type {unknown} */ value) {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** An error the provider answers; each simulator renders it in its provider's shape. */
export class ApiError extends Error {
  /**
   * @param {number} status
   * @param {string} message empty for the provider's usual message for the status
   * @param {{ type?: string, code?: string, param?: string }} [details]
   */
  constructor(status, message, { type, code, param } = {}) {
    super(message);
    this.status = status;
    this.type = type;
    this.code = code;
    this.param = param;
  }
}

/** A JSON object body, or a 400 with the provider's message for anything else. */
export function parseJsonObject(/** @type {Buffer} */ body, /** @type {string} */ message) {
  try {
    const value = JSON.parse(body.toString("utf8"));
    if (isObject(value)) return /** @type {Obj} */ (value);
  } catch {
    // answered below
  }
  throw new ApiError(400, message);
}

// ---------------------------------------------------------------------------------------------
// Scenarios and their control API
// ---------------------------------------------------------------------------------------------

/** @type {Record<string, "integer" | "string" | "object" | "hostile">} */
const STEP_FIELDS = {
  hostile: "hostile",
  status: "integer",
  error: "object",
  headers: "object",
  delayMs: "integer",
  tokenDelayMs: "integer",
  reply: "string",
  toolCall: "object",
  breakAfterChunks: "integer",
  usage: "object",
};

/** Why a step is malformed, or undefined: a typo in a test's script should fail loudly. */
function stepProblem(/** @type {unknown} */ step, /** @type {number} */ index) {
  const where = `steps[${index}]`;
  if (!isObject(step)) return `${where} must be an object`;
  const fields = /** @type {Obj} */ (step);
  for (const [key, value] of Object.entries(fields)) {
    const kind = STEP_FIELDS[key];
    if (!kind) return `${where}.${key} is not a step field (${Object.keys(STEP_FIELDS).join(", ")})`;
    if (kind === "hostile") {
      if (!HOSTILE_MODES.includes(value)) return `${where}.hostile must be one of ${HOSTILE_MODES.join(", ")}`;
      continue;
    }
    const valid =
      kind === "integer"
        ? Number.isInteger(value) && value >= 0
        : kind === "object"
          ? isObject(value)
          : typeof value === kind;
    if (!valid) return `${where}.${key} must be ${kind === "integer" ? "a non-negative integer" : `a ${kind}`}`;
  }
  if (fields.status !== undefined && (fields.status < 400 || fields.status > 599)) {
    return `${where}.status must be between 400 and 599 (a step without one answers normally)`;
  }
  if (fields.error && fields.status === undefined) return `${where}.error needs a status`;
  if (fields.toolCall && (typeof fields.toolCall.name !== "string" || !isObject(fields.toolCall.arguments))) {
    return `${where}.toolCall must be { name: string, arguments: object }`;
  }
  return undefined;
}

/** Scripted scenarios by id, with the requests each one received. */
export class Scenarios {
  constructor() {
    /** @type {Map<string, Scenario>} */
    this.byId = new Map();
  }

  /** A scenario, created without steps (default behaviour) when a request names an unknown one. */
  get(/** @type {string} */ id) {
    let scenario = this.byId.get(id);
    if (!scenario) {
      scenario = { steps: [], next: 0, requests: [] };
      this.byId.set(id, scenario);
    }
    return scenario;
  }

  /** The step of a scenario's next request: the steps in order, the last one repeating. */
  take(/** @type {string} */ id) {
    const scenario = this.get(id);
    const step = scenario.steps[Math.min(scenario.next, scenario.steps.length - 1)];
    scenario.next += 1;
    return step ?? {};
  }

  /**
   * The control API, without authentication:
   * POST /__sim/scenarios/<id> { steps } defines a scenario anew (steps from the first, no requests),
   * GET /__sim/scenarios/<id>/requests lists its requests in arrival order, DELETE forgets it.
   * @returns {{ status: number, value: unknown }}
   */
  control(/** @type {string} */ method, /** @type {string} */ path, /** @type {Buffer} */ body) {
    const match = /^\/__sim\/scenarios\/([\w.-]+)(\/requests)?$/.exec(path);
    const id = match?.[1];
    if (!id) return { status: 404, value: { error: { message: `No control endpoint at ${path}.` } } };
    if (match[2]) {
      if (method !== "GET") return { status: 405, value: { error: { message: "Use GET for the requests." } } };
      return { status: 200, value: { data: this.byId.get(id)?.requests ?? [] } };
    }
    if (method === "DELETE") return { status: 200, value: { id, deleted: this.byId.delete(id) } };
    if (method !== "POST") return { status: 405, value: { error: { message: "Use POST or DELETE." } } };
    let steps;
    try {
      steps = parseJsonObject(body, "").steps;
    } catch {
      return { status: 400, value: { error: { message: "The body must be a JSON object { steps: [...] }." } } };
    }
    if (!Array.isArray(steps) || steps.length === 0) {
      return { status: 400, value: { error: { message: "steps must be a non-empty array." } } };
    }
    const problem = steps.map(stepProblem).find((message) => message !== undefined);
    if (problem) return { status: 400, value: { error: { message: problem } } };
    this.byId.set(id, { steps, next: 0, requests: [] });
    return { status: 200, value: { id, steps } };
  }
}

/** Request headers as recorded: lower-cased (as Node gives them), credentials cut to 8 characters. */
function recordedHeaders(/** @type {IncomingHttpHeaders} */ headers) {
  /** @type {Record<string, string>} */
  const recorded = {};
  for (const [name, value] of Object.entries(headers)) {
    const text = Array.isArray(value) ? value.join(", ") : (value ?? "");
    recorded[name] = name === "authorization" || name === "x-api-key" ? text.slice(0, 8) : text;
  }
  return recorded;
}

// ---------------------------------------------------------------------------------------------
// One request and its answer
// ---------------------------------------------------------------------------------------------

/**
 * A request being answered under its scenario's step: it notices the client going away (so a
 * stream stops and the record says aborted), paces and counts streamed chunks, and cuts the
 * connection where the step says to.
 */
export class Exchange {
  /**
   * @param {IncomingMessage} request
   * @param {ServerResponse} response
   * @param {Record<string, string>} headers sent with every answer (the provider's request id)
   * @param {HostileMode} [hostile] the mode of the request's `/__hostile/<mode>` prefix
   */
  constructor(request, response, headers, hostile) {
    this.request = request;
    this.response = response;
    this.headers = headers;
    /** @type {Step} */
    this.step = hostile ? { hostile } : {};
    this.prefixMode = hostile;
    /** @type {RequestRecord | undefined} */
    this.record = undefined;
    this.startedAt = Date.now();
    this.eventsSent = 0;
    this.chunksSent = 0;
    // Set when the simulator cuts the connection itself, which is no abort by the client.
    this.cutting = false;
    this.gone = new AbortController();
    response.on("close", () => {
      this.gone.abort();
      if (this.record) {
        this.record.endedAt = Date.now();
        this.record.aborted = !response.writableFinished && !this.cutting;
      }
    });
    /** @type {Promise<unknown>} */
    this.flushed = Promise.resolve();
  }

  get closed() {
    return this.gone.signal.aborted;
  }

  /**
   * Puts the request under its scenario, if its text names one: it takes the scenario's next step
   * and is recorded (body: what the test may assert on, e.g. the parsed JSON).
   */
  enter(/** @type {Scenarios} */ scenarios, /** @type {string | undefined} */ id, /** @type {unknown} */ body) {
    if (!id) return;
    const step = scenarios.take(id);
    this.step = this.prefixMode && !step.hostile ? { ...step, hostile: this.prefixMode } : step;
    this.record = {
      path: this.request.url ?? "",
      headers: recordedHeaders(this.request.headers),
      body,
      startedAt: this.startedAt,
      endedAt: null,
      aborted: false,
      chunksSent: 0,
    };
    scenarios.get(id).requests.push(this.record);
  }

  /** Waits, or less if the client goes away. */
  async wait(/** @type {number} */ ms) {
    if (ms > 0 && !this.closed) await delay(ms, undefined, { signal: this.gone.signal }).catch(() => {});
  }

  /**
   * Plays the opening of the step: its delay, then its error (thrown, for the provider to render).
   * @returns {Promise<boolean>} whether anyone is still there to answer
   */
  async begin() {
    await this.wait(this.step.delayMs ?? 0);
    if (this.closed) return false;
    if (this.step.hostile === "echo_headers") throw echoedHeaders(this.step, this.request.headers);
    if (this.step.status) throw new ApiError(this.step.status, this.step.error?.message ?? "", this.step.error);
    return true;
  }

  /** The step's hostile mode, if any. */
  get hostile() {
    return this.step.hostile;
  }

  /** A 200 that is not JSON, for `garbage`; one too large for any client to hold, for `huge`. */
  sendGarbage() {
    const body =
      this.hostile === "huge"
        ? Buffer.concat([Buffer.from('{"data":"'), Buffer.alloc(65 * 1024 * 1024, 97), Buffer.from('"}')])
        : "<html>upstream gone wrong</html>";
    this.send(200, body, { "content-type": "application/json" });
  }

  /**
   * A whole answer, with the step's headers (retry-after…). A successful one is not sent when the
   * step has breakAfterChunks: the connection is cut instead, as if the upstream crashed.
   * @param {number} status @param {string | Buffer} body @param {Record<string, string>} headers
   */
  send(status, body, headers) {
    if (this.closed) return;
    if (status < 400 && this.step.breakAfterChunks !== undefined) return this.cut();
    this.response.writeHead(status, { ...this.headers, ...headers, ...this.step.headers }).end(body);
  }

  sendJson(/** @type {number} */ status, /** @type {unknown} */ value) {
    this.send(status, JSON.stringify(value), { "content-type": "application/json" });
  }

  startStream() {
    this.response.writeHead(200, {
      ...this.headers,
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-cache",
      ...this.step.headers,
    });
    this.response.flushHeaders();
  }

  /**
   * Sends one server-sent event, tokenDelayMs after the previous one. `content` marks a piece of
   * the reply itself (text, tool arguments), which counts in chunksSent; once breakAfterChunks of
   * those are out, the next event cuts the connection instead.
   * @param {unknown} data an object (sent as JSON) or a raw string such as "[DONE]"
   * @param {{ event?: string, content?: boolean }} [options]
   * @returns {Promise<boolean>} whether to go on streaming
   */
  async event(data, { event, content = false } = {}) {
    if (this.eventsSent > 0) await this.wait(this.step.tokenDelayMs ?? 0);
    if (this.closed) return false;
    const { breakAfterChunks } = this.step;
    if (breakAfterChunks !== undefined && this.chunksSent >= breakAfterChunks) {
      await this.flushed;
      this.cut();
      return false;
    }
    const payload = typeof data === "string" ? data : JSON.stringify(data);
    this.flushed = new Promise((resolve) =>
      this.response.write(`${event ? `event: ${event}\n` : ""}data: ${payload}\n\n`, resolve),
    );
    this.eventsSent += 1;
    if (content) {
      this.chunksSent += 1;
      if (this.record) this.record.chunksSent = this.chunksSent;
    }
    return true;
  }

  endStream() {
    if (!this.closed) this.response.end();
  }

  cut() {
    this.cutting = true;
    this.response.destroy();
  }
}

// ---------------------------------------------------------------------------------------------
// The server
// ---------------------------------------------------------------------------------------------

export async function readBody(/** @type {IncomingMessage} */ request) {
  const chunks = [];
  for await (const chunk of request) chunks.push(chunk);
  return Buffer.concat(chunks);
}

/**
 * Starts a simulator's HTTP server: the scenarios' control API under /__sim/scenarios/, every
 * other request to `handle`. An unexpected error is logged and answers 500, leaving the server up.
 * @param {{ port: number, host: string, name: string, scenarios: Scenarios,
 *   handle: (request: IncomingMessage, response: ServerResponse, baseUrl: string, hostile?: HostileMode) => Promise<void> }} options
 * @returns {Promise<RunningSimulator>}
 */
export async function startServer({ port, host, name, scenarios, handle }) {
  const server = createServer();
  await new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve(undefined));
  });
  const address = server.address();
  if (!address || typeof address === "string") throw new Error(`the ${name} simulator has no TCP address`);
  const url = `http://${host.includes(":") ? `[${host}]` : host}:${address.port}`;

  server.on("request", (request, response) => {
    const { pathname: path, search } = new URL(request.url ?? "/", url);
    const hostile = hostilePrefix(path);
    if (hostile.mode) request.url = hostile.path + search;
    const answer = path.startsWith("/__sim/")
      ? readBody(request).then((body) => {
          const { status, value } = scenarios.control(request.method ?? "GET", path, body);
          response.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(value));
        })
      : handle(request, response, url, hostile.mode);
    answer.catch((error) => {
      console.error(`${name} simulator:`, error);
      if (!response.headersSent) response.writeHead(500).end();
      else response.destroy();
    });
  });

  return {
    url,
    port: address.port,
    async close() {
      await new Promise((resolve) => {
        server.close(resolve);
        server.closeAllConnections();
      });
    },
  };
}
