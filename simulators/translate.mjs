// @ts-check
/**
 * A local simulator of two translation APIs on one HTTP server, for tests and offline development:
 * Google Cloud Translation v2 (basic, REST, under /language/translate/v2) and DeepL API v2 (under
 * /v2). It speaks their wire formats (auth, bodies, limits, error shapes) and knows nothing of Stratus.
 *
 * The fake translation is deterministic:
 * - segment `t` into target `T` becomes `[T] t`, T exactly as the request spelled it (Google `de`
 *   → `[de] Hello`, DeepL `DE` → `[DE] Hello`); an empty or blank segment comes back unchanged.
 * - Markup (Google `format: "html"`, DeepL `tag_handling: "html" | "xml"`): only text nodes are
 *   translated, each non-blank one getting `[T] ` after its leading whitespace; tags, attributes,
 *   comments and entities stay byte for byte and <script>/<style> content is left alone:
 *   `<p>Hello <b>world</b>!</p>` → `<p>[de] Hello <b>[de] world</b>[de] !</p>`.
 * - The detected language counts common words of en, de, fr, es (tags and scenario markers
 *   aside): the most hits wins, a tie or no hit gives en; confidence = the winner's hits / words,
 *   clamped to [0.1, 1] and rounded to 2 decimals. DeepL reports it uppercase, Google lowercase.
 *
 * Scripting, per scenario since test files share one simulator (nothing global):
 * - a provider call opts in with `[scenario:<id>]` in any of its texts (the first found); the
 *   marker is translated like any other text.
 * - POST /__sim/scenarios/<id> { steps: [{ status?, error?: { message? }, delayMs?, hostile? }] }
 *   scripts the scenario's next calls, one step each, after which calls behave normally; DELETE
 *   forgets it.
 * - hostile modes, by a step's `hostile` or for every call under a base URL ending in
 *   `/__hostile/<mode>` (the languages lists carry no text to name a scenario):
 *   `echo_headers` (an error repeating the request's headers, the key included), `wrong_types`
 *   (numbers where codes and texts belong), `garbage` (a 200 that is not JSON).
 * - GET /__sim/scenarios/<id>/calls lists the provider calls that carried the marker.
 * - GET /__sim/calls?text=<substring> counts the translate calls (either provider, in a scenario
 *   or not) with a segment containing the substring, among the last 10 000 received.
 * Calls are recorded and counted once their JSON body is read, whatever their answer (a 403 too).
 */
import { createServer } from "node:http";
import { ApiError, Exchange, hostilePrefix, isObject, parseJsonObject, readBody, scenarioIn } from "./llm-scripts.mjs";

/** @import { IncomingMessage, ServerResponse } from "node:http" */
/** @import { Obj, RunningSimulator } from "./llm-scripts.mjs" */

/**
 * @typedef {{ status?: number, error?: { message?: string }, delayMs?: number,
 *   hostile?: "echo_headers" | "wrong_types" | "garbage" }} TranslateStep
 * @typedef {{ segments: string[], target: string | null, source: string | null, format: string }} Call
 *   what a provider call asks, as recorded
 * @typedef {Call & { provider: "google" | "deepl", path: string, startedAt: number }} CallRecord
 * @typedef {{ steps: TranslateStep[], next: number, calls: CallRecord[] }} Scenario
 * @typedef {{ json?: boolean, describe?: (body: Obj) => Call, counted?: boolean,
 *   respond: (body: Obj, query: URLSearchParams) => unknown }} Route an endpoint: whether it takes a JSON
 *   object body, what of it to record (calls without are neither recorded nor scripted), whether
 *   /__sim/calls counts it, and its answer
 */

const KEPT_CALLS = 10_000;
const MARKER = /\[scenario:[\w.-]+\]/g;
/** A comment or a tag: what markup translation leaves alone (a simple tokenizer, no HTML parser). */
const MARKUP_TOKEN = /(<!--[\s\S]*?-->|<[^>]*>)/;

/** A language table written compactly: "code=Name; code=Name" into { code: name }. */
const table = (/** @type {string} */ spec) =>
  Object.fromEntries(spec.split("; ").map((entry) => /** @type {[string, string]} */ (entry.split("="))));
/** Google's codes are lowercase, with region or script parts as Google spells them. */
const GOOGLE_LANGUAGES = table(
  "en=English; de=German; fr=French; fr-CA=French (Canada); es=Spanish; it=Italian; pt=Portuguese (Brazil); " +
    "pt-PT=Portuguese (Portugal); nl=Dutch; ja=Japanese; zh-CN=Chinese (Simplified); zh-TW=Chinese (Traditional)",
);
/** DeepL's codes are uppercase; sources are plain languages, targets include variants. */
const DEEPL_SOURCES = table(
  "DE=German; EN=English; ES=Spanish; FR=French; IT=Italian; JA=Japanese; NL=Dutch; PT=Portuguese; ZH=Chinese",
);
const DEEPL_TARGETS = table(
  "DE=German; EN-GB=English (British); EN-US=English (American); ES=Spanish; FR=French; IT=Italian; " +
    "JA=Japanese; NL=Dutch; PT-BR=Portuguese (Brazilian); PT-PT=Portuguese (European); ZH=Chinese (simplified); " +
    "ZH-HANS=Chinese (simplified); ZH-HANT=Chinese (traditional)",
);
/** The targets /v2/languages lists with supports_formality: false. */
const DEEPL_PLAIN_TARGETS = ["EN-GB", "EN-US", "ZH"];
/** Targets DeepL still accepts for backward compatibility but no longer lists. */
const DEEPL_LEGACY_TARGETS = ["EN", "PT"];
const MAX_GOOGLE_SEGMENTS = 128;
const MAX_DEEPL_TEXTS = 50;

/**
 * Starts the translation simulator; any non-empty key is accepted by both providers.
 * @param {{ port?: number, latencyMs?: number }} [options] latencyMs delays every provider answer
 * @returns {Promise<RunningSimulator>}
 */
export async function startTranslateSimulator({ port = 0, latencyMs = 0 } = {}) {
  const host = "127.0.0.1";
  const scripts = new Scripts();
  const server = createServer((request, response) => {
    serve(scripts, latencyMs, request, response).catch((error) => {
      console.error("translate simulator:", error);
      if (!response.headersSent) response.writeHead(500).end();
      else response.destroy();
    });
  });
  await new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve(undefined));
  });
  const address = server.address();
  if (!address || typeof address === "string") throw new Error("the translate simulator has no TCP address");
  return {
    url: `http://${host}:${address.port}`,
    port: address.port,
    async close() {
      await new Promise((resolve) => {
        server.close(resolve);
        server.closeAllConnections();
      });
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Routing
// ---------------------------------------------------------------------------------------------

/** @type {Record<string, Route>} */
const GOOGLE_ROUTES = {
  "POST /language/translate/v2": { json: true, describe: googleCall, counted: true, respond: googleTranslate },
  "POST /language/translate/v2/detect": { json: true, describe: googleCall, respond: googleDetect },
  "GET /language/translate/v2/languages": { respond: googleLanguages },
};
/** @type {Record<string, Route>} */
const DEEPL_ROUTES = {
  "POST /v2/translate": { json: true, describe: deeplCall, counted: true, respond: deeplTranslate },
  "GET /v2/languages": { respond: deeplLanguages },
};

/**
 * @param {Scripts} scripts @param {number} latencyMs
 * @param {IncomingMessage} request @param {ServerResponse} response
 */
async function serve(scripts, latencyMs, request, response) {
  const url = new URL(request.url ?? "/", "http://simulator");
  const hostile = hostilePrefix(url.pathname);
  if (hostile.mode && hostile.mode !== "huge_index") url.pathname = hostile.path;
  // The LLM simulators' exchange: it notices the client going away, and plays a step's delay and error.
  const exchange = new Exchange(request, response, {}, hostile.mode === "huge_index" ? undefined : hostile.mode);
  let raw;
  try {
    raw = await readBody(request);
  } catch {
    response.destroy(); // the client went away mid-body: nobody to answer
    return;
  }
  if (url.pathname.startsWith("/__sim/")) {
    const { status, value } = scripts.control(request.method ?? "GET", url, raw);
    return exchange.sendJson(status, value);
  }
  const google = url.pathname.startsWith("/language/");
  let status = 200;
  let value;
  try {
    const route = (google ? GOOGLE_ROUTES : DEEPL_ROUTES)[`${request.method} ${url.pathname}`];
    if (!route) throw new ApiError(404, google ? "Method not found." : "Not found");
    const badJson = google ? "Invalid JSON payload received." : "Invalid request: expected a JSON body.";
    const body = route.json ? parseJsonObject(raw, badJson) : {};
    const call = route.describe?.(body);
    if (call) scripts.arrive(google ? "google" : "deepl", url.pathname, call, exchange, route.counted === true);
    authenticate(google, request, url.searchParams);
    value = route.respond(body, url.searchParams);
    // The step's delay, then its scripted error (thrown), after the request proved valid.
    if (!(await exchange.begin())) return;
    if (exchange.hostile === "garbage") return exchange.sendGarbage();
    if (exchange.hostile === "wrong_types") value = wrongTypes(value);
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    status = error.status;
    value = google ? googleError(error) : { message: error.message || DEEPL_MESSAGES[status] || "Error" };
  }
  await exchange.wait(latencyMs);
  exchange.sendJson(status, value); // a no-op once the client is gone
}

/**
 * Both providers take any non-empty key, and answer 403 without one.
 * @param {boolean} google @param {IncomingMessage} request @param {URLSearchParams} query
 */
function authenticate(google, request, query) {
  if (google && !query.get("key") && !request.headers["x-goog-api-key"]) {
    throw new ApiError(403, "The request is missing a valid API key.");
  }
  if (!google && !/^DeepL-Auth-Key \S+/.test(request.headers.authorization ?? "")) {
    throw new ApiError(403, "Authorization failure, check auth_key");
  }
}

// ---------------------------------------------------------------------------------------------
// Scenarios, recording and counting
// ---------------------------------------------------------------------------------------------

/** An answer of the control API refusing a request. @param {number} status @param {string} message */
const fail = (status, message) => ({ status, value: { error: { message } } });

/** Appends to a list that keeps only its last KEPT_CALLS items. */
function keep(/** @type {unknown[]} */ list, /** @type {unknown} */ item) {
  list.push(item);
  if (list.length > KEPT_CALLS) list.shift();
}

/** @type {Record<string, [valid: (value: any) => boolean, expected: string]>} */
const STEP_FIELDS = {
  status: [(value) => Number.isInteger(value) && value >= 400 && value <= 599, "an integer between 400 and 599"],
  error: [
    (value) =>
      isObject(value) && Object.entries(value).every(([key, text]) => key === "message" && typeof text === "string"),
    "an object { message?: string }",
  ],
  delayMs: [(value) => Number.isInteger(value) && value >= 0, "a non-negative integer"],
  hostile: [
    (value) => ["echo_headers", "wrong_types", "garbage"].includes(value),
    "echo_headers, wrong_types or garbage",
  ],
};

/** Why a step is malformed, or undefined: a typo in a test's script should fail loudly. */
function stepProblem(/** @type {unknown} */ step, /** @type {number} */ index) {
  const where = `steps[${index}]`;
  if (!isObject(step)) return `${where} must be an object`;
  const fields = /** @type {Obj} */ (step);
  for (const [key, value] of Object.entries(fields)) {
    const rule = STEP_FIELDS[key];
    if (!rule) return `${where}.${key} is not a step field (${Object.keys(STEP_FIELDS).join(", ")})`;
    if (!rule[0](value)) return `${where}.${key} must be ${rule[1]}`;
  }
  if (fields.error && fields.status === undefined) return `${where}.error needs a status`;
  return undefined;
}

/**
 * The scenarios (steps and recorded calls) and the recent translate calls, of one simulator. Not
 * llm-scripts' Scenarios: its steps are the LLMs' and its last step repeats, where here calls
 * answer normally once the steps are used up.
 */
class Scripts {
  constructor() {
    /** @type {Map<string, Scenario>} */
    this.scenarios = new Map();
    /** @type {string[][]} the segments of the last translate calls, for /__sim/calls */
    this.recent = [];
  }

  /**
   * Notes a provider call on arrival: counts it if it translates, and if its texts name a
   * scenario, records it there and gives the exchange the scenario's next step.
   * @param {"google" | "deepl"} provider @param {string} path @param {Call} call
   * @param {Exchange} exchange @param {boolean} counted
   */
  arrive(provider, path, call, exchange, counted) {
    if (counted) keep(this.recent, call.segments);
    const id = scenarioIn(call.segments.join("\n"));
    if (!id) return;
    // A scenario never scripted still records its calls.
    const scenario = this.scenarios.get(id) ?? { steps: [], next: 0, calls: [] };
    this.scenarios.set(id, scenario);
    const step = scenario.steps[scenario.next] ?? {};
    exchange.step = exchange.prefixMode && !step.hostile ? { ...step, hostile: exchange.prefixMode } : step;
    scenario.next += 1;
    keep(scenario.calls, { provider, path, ...call, startedAt: exchange.startedAt });
  }

  /**
   * The control API, without authentication (see the file header).
   * @param {string} method @param {URL} url @param {Buffer} raw
   * @returns {{ status: number, value: unknown }}
   */
  control(method, url, raw) {
    if (url.pathname === "/__sim/calls") {
      const text = url.searchParams.get("text");
      if (method !== "GET") return fail(405, "Use GET for the calls count.");
      if (!text) return fail(400, "Give the text to look for: GET /__sim/calls?text=<substring>.");
      const count = this.recent.filter((segments) => segments.some((segment) => segment.includes(text))).length;
      return { status: 200, value: { count } };
    }
    const match = /^\/__sim\/scenarios\/([\w.-]+)(\/calls)?$/.exec(url.pathname);
    const id = match?.[1];
    if (!id) return fail(404, `No control endpoint at ${url.pathname}.`);
    if (match[2]) {
      if (method !== "GET") return fail(405, "Use GET for the calls.");
      return { status: 200, value: { data: this.scenarios.get(id)?.calls ?? [] } };
    }
    if (method === "DELETE") return { status: 200, value: { id, deleted: this.scenarios.delete(id) } };
    if (method !== "POST") return fail(405, "Use POST or DELETE.");
    let steps;
    try {
      steps = parseJsonObject(raw, "").steps;
    } catch {
      return fail(400, "The body must be a JSON object { steps: [...] }.");
    }
    if (!Array.isArray(steps) || steps.length === 0) return fail(400, "steps must be a non-empty array.");
    const problem = steps.map(stepProblem).find((message) => message !== undefined);
    if (problem) return fail(400, problem);
    this.scenarios.set(id, { steps, next: 0, calls: [] });
    return { status: 200, value: { id, steps } };
  }
}

// ---------------------------------------------------------------------------------------------
// Google Cloud Translation v2
// ---------------------------------------------------------------------------------------------

/** @type {Record<number, [status: string, reason: string, message: string]>} */
const GOOGLE_STATUSES = {
  400: ["INVALID_ARGUMENT", "invalid", "Invalid Value"],
  401: ["UNAUTHENTICATED", "unauthorized", "Request had invalid authentication credentials."],
  403: ["PERMISSION_DENIED", "forbidden", "The caller does not have permission"],
  404: ["NOT_FOUND", "notFound", "Requested entity was not found."],
  429: ["RESOURCE_EXHAUSTED", "rateLimitExceeded", "Quota exceeded (simulated)."],
  500: ["INTERNAL", "backendError", "Internal error encountered."],
  503: ["UNAVAILABLE", "backendError", "The service is currently unavailable."],
};

/** Google's error shape, with its usual status name, reason and message for the HTTP status. */
function googleError(/** @type {ApiError} */ error) {
  const [status, reason, usual] =
    GOOGLE_STATUSES[error.status] ??
    (error.status >= 500
      ? ["UNKNOWN", "backendError", "Unknown error."]
      : ["FAILED_PRECONDITION", "failedPrecondition", "Precondition failed."]);
  const message = error.message || usual;
  return { error: { code: error.status, message, errors: [{ message, domain: "global", reason }], status } };
}

const invalidArgument = (/** @type {string} */ message) => new ApiError(400, message);
const stringOrNull = (/** @type {unknown} */ value) => (typeof value === "string" && value !== "" ? value : null);
/** The strings of a field that may be one string or a list of them. */
const stringsOf = (/** @type {unknown} */ value) =>
  typeof value === "string" ? [value] : Array.isArray(value) ? value.filter((item) => typeof item === "string") : [];

function googleCall(/** @type {Obj} */ body) {
  const [target, source] = [stringOrNull(body.target), stringOrNull(body.source)];
  return { segments: stringsOf(body.q), target, source, format: stringOrNull(body.format) ?? "text" };
}

/** The segments of `q`: one string or up to 128 of them. */
function googleSegments(/** @type {unknown} */ q) {
  const segments = typeof q === "string" ? [q] : q;
  if (!Array.isArray(segments) || segments.length === 0 || q === "") throw invalidArgument("Required Text (q).");
  if (!segments.every((segment) => typeof segment === "string")) throw invalidArgument("Invalid value at 'q'.");
  if (segments.length > MAX_GOOGLE_SEGMENTS) throw invalidArgument("Too many text segments.");
  return /** @type {string[]} */ (segments);
}

/** Google's code for a language, matched without regard to case, or undefined. */
const googleLanguage = (/** @type {unknown} */ code) =>
  typeof code === "string"
    ? Object.keys(GOOGLE_LANGUAGES).find((known) => known.toLowerCase() === code.toLowerCase())
    : undefined;

function googleTranslate(/** @type {Obj} */ body) {
  const segments = googleSegments(body.q);
  const { target, source, format = "text", model } = body;
  if (typeof target !== "string" || target === "") throw invalidArgument("Required Target language (target).");
  if (format !== "text" && format !== "html") throw invalidArgument(`Invalid value at 'format' (text or html).`);
  const sourceGiven = source !== undefined && source !== null && source !== "";
  if (!googleLanguage(target) || (sourceGiven && !googleLanguage(source))) throw invalidArgument("Bad language pair");
  const markup = format === "html";
  const translations = segments.map((text) => ({
    translatedText: translate(text, target, markup),
    ...(sourceGiven ? {} : { detectedSourceLanguage: detect(text, markup).language }),
    // Google echoes the model only when the request names one.
    ...(typeof model === "string" ? { model } : {}),
  }));
  return { data: { translations } };
}

function googleDetect(/** @type {Obj} */ body) {
  const detections = googleSegments(body.q).map((text) => [{ ...detect(text, false), isReliable: false }]);
  return { data: { detections } };
}

function googleLanguages(/** @type {Obj} */ _body, /** @type {URLSearchParams} */ query) {
  const target = query.get("target");
  if (target && !googleLanguage(target)) throw invalidArgument(`Bad language: ${target}`);
  // Names are in English, whichever display language was asked.
  const languages = Object.entries(GOOGLE_LANGUAGES).map(([language, name]) =>
    target ? { language, name } : { language },
  );
  return { data: { languages } };
}

// ---------------------------------------------------------------------------------------------
// DeepL v2
// ---------------------------------------------------------------------------------------------

/** @type {Record<number, string>} DeepL's usual messages, for errors scripted without one */
const DEEPL_MESSAGES = {
  400: "Bad request.",
  403: "Authorization failure, check auth_key",
  404: "Not found",
  429: "Too many requests, please wait and resend your request.",
  456: "Quota exceeded. The character limit has been reached.",
  500: "Internal server error",
  503: "Service temporarily unavailable",
};

function deeplCall(/** @type {Obj} */ body) {
  const [target, source] = [stringOrNull(body.target_lang), stringOrNull(body.source_lang)];
  return { segments: stringsOf(body.text), target, source, format: stringOrNull(body.tag_handling) ?? "text" };
}

function deeplTranslate(/** @type {Obj} */ body) {
  const { text, target_lang: target, source_lang: source, tag_handling: tags } = body;
  if (!Array.isArray(text) || text.length === 0 || !text.every((item) => typeof item === "string")) {
    throw new ApiError(400, "Parameter 'text' must be a non-empty array of strings.");
  }
  if (text.length > MAX_DEEPL_TEXTS) throw new ApiError(400, `Too many texts: at most ${MAX_DEEPL_TEXTS} per request.`);
  if (typeof target !== "string" || target === "") throw new ApiError(400, "Parameter 'target_lang' not specified.");
  const upper = target.toUpperCase();
  if (!DEEPL_TARGETS[upper] && !DEEPL_LEGACY_TARGETS.includes(upper)) {
    throw new ApiError(400, "Value for 'target_lang' not supported.");
  }
  const sourceGiven = source !== undefined && source !== null && source !== "";
  if (sourceGiven && !(typeof source === "string" && source.toUpperCase() in DEEPL_SOURCES)) {
    throw new ApiError(400, "Value for 'source_lang' not supported.");
  }
  const markup = tags === "html" || tags === "xml";
  if (tags !== undefined && tags !== null && !markup)
    throw new ApiError(400, "Value for 'tag_handling' not supported.");
  const translations = text.map((/** @type {string} */ segment) => ({
    detected_source_language: (sourceGiven ? String(source) : detect(segment, markup).language).toUpperCase(),
    text: translate(segment, target, markup),
  }));
  return { translations };
}

function deeplLanguages(/** @type {Obj} */ _body, /** @type {URLSearchParams} */ query) {
  const type = query.get("type") ?? "source";
  if (type === "source") return Object.entries(DEEPL_SOURCES).map(([language, name]) => ({ language, name }));
  if (type !== "target") throw new ApiError(400, "Value for 'type' not supported.");
  const formality = (/** @type {string} */ language) => !DEEPL_PLAIN_TARGETS.includes(language);
  return Object.entries(DEEPL_TARGETS).map(([language, name]) => ({
    language,
    name,
    supports_formality: formality(language),
  }));
}

// ---------------------------------------------------------------------------------------------
// The fake translation and detection
// ---------------------------------------------------------------------------------------------

/** A segment into `target`: `[target] text`, or in markup, each text node so prefixed. */
function translate(/** @type {string} */ text, /** @type {string} */ target, /** @type {boolean} */ markup) {
  if (!markup) return /\S/.test(text) ? `[${target}] ${text}` : text;
  // split() with a capture group alternates text nodes (even indexes) and tags or comments (odd).
  let rawUntil = ""; // inside <script> or <style>: the element whose closing tag ends the raw text
  return text
    .split(MARKUP_TOKEN)
    .map((part, index) => {
      if (index % 2 === 0) return rawUntil ? part : part.replace(/^(\s*)(?=\S)/, (_, space) => `${space}[${target}] `);
      const element = /^<\/?(script|style)[\s/>]/i.exec(part)?.[1]?.toLowerCase();
      if (!rawUntil && element && !part.startsWith("</") && !part.endsWith("/>")) rawUntil = element;
      else if (rawUntil && element === rawUntil && part.startsWith("</")) rawUntil = "";
      return part;
    })
    .join("");
}

/** Very common words of the languages detection knows; a tie or no hit means English. */
const STOP_WORDS = {
  en: new Set(["the", "and", "is", "of", "to", "in", "you", "that", "it"]),
  de: new Set(["der", "die", "das", "und", "ist", "nicht", "ich", "sie", "ein"]),
  fr: new Set(["le", "la", "les", "et", "est", "vous", "je", "une", "des"]),
  es: new Set(["el", "la", "los", "las", "y", "es", "usted", "una", "por"]),
};

/** The language of a text (lowercase) and the confidence, by stop words; markers don't count. */
function detect(/** @type {string} */ text, /** @type {boolean} */ markup) {
  const plain = (markup ? text.replace(new RegExp(MARKUP_TOKEN, "g"), " ") : text).replace(MARKER, " ");
  const words = plain.toLowerCase().match(/\p{L}+/gu) ?? [];
  const hits = Object.entries(STOP_WORDS).map(([language, set]) => ({
    language,
    count: words.filter((word) => set.has(word)).length,
  }));
  const best = Math.max(...hits.map((hit) => hit.count));
  const leaders = hits.filter((hit) => hit.count === best);
  const winner = best > 0 && leaders.length === 1 ? leaders[0] : hits.find((hit) => hit.language === "en");
  const ratio = words.length > 0 && winner ? winner.count / words.length : 0;
  return { language: winner?.language ?? "en", confidence: Math.round(Math.min(1, Math.max(0.1, ratio)) * 100) / 100 };
}

// ---------------------------------------------------------------------------------------------
// Hostile answers
// ---------------------------------------------------------------------------------------------

/**
 * An answer with numbers where language codes and texts belong, and a string where Google puts
 * a confidence: the shape stays, the types do not.
 * @param {unknown} value @returns {unknown}
 */
function wrongTypes(value) {
  if (Array.isArray(value)) return value.map(wrongTypes);
  if (!isObject(value)) return value;
  /** @type {Obj} */
  const spoiled = {};
  for (const [key, inner] of Object.entries(/** @type {Obj} */ (value))) {
    if (["language", "detectedSourceLanguage", "detected_source_language", "translatedText", "text"].includes(key)) {
      spoiled[key] = 42;
    } else if (key === "confidence") spoiled[key] = "high";
    else spoiled[key] = wrongTypes(inner);
  }
  return spoiled;
}
