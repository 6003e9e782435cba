// @ts-check
// Smoke check of the translation simulator (Google Cloud Translation v2 and DeepL v2) over raw HTTP:
// `node simulators/verify-translate-simulator.mjs` prints "ok" or fails on the first wrong answer.
import assert from "node:assert/strict";
import { startTranslateSimulator } from "./translate.mjs";

const simulator = await startTranslateSimulator();
const googleKey = "?key=verify-key";
const deeplHeaders = { authorization: "DeepL-Auth-Key verify-key:fx", "content-type": "application/json" };

/** A response's JSON, untyped: the assertions check its shape. @returns {Promise<any>} */
const jsonOf = (/** @type {Response} */ response) => response.json();

/** @param {string} path @param {object} body @returns {Promise<any>} */
const postGoogle = async (path, body, expectedStatus = 200, query = googleKey) => {
  const response = await fetch(`${simulator.url}/language/translate/v2${path}${query}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  assert.equal(response.status, expectedStatus, await response.clone().text());
  return response.json();
};

/** @param {object} body @param {Record<string, string>} headers @returns {Promise<any>} */
const postDeepL = async (body, expectedStatus = 200, headers = deeplHeaders) => {
  const response = await fetch(`${simulator.url}/v2/translate`, {
    method: "POST",
    headers,
    body: JSON.stringify(body),
  });
  assert.equal(response.status, expectedStatus, await response.clone().text());
  return response.json();
};

/** @param {string} path @returns {Promise<any>} */
const get = async (path, headers = {}) => {
  const response = await fetch(`${simulator.url}${path}`, { headers });
  assert.equal(response.status, 200, await response.clone().text());
  return response.json();
};

/** Defines a scenario's steps. @param {string} id @param {object[]} steps */
const script = (id, steps) =>
  fetch(`${simulator.url}/__sim/scenarios/${id}`, { method: "POST", body: JSON.stringify({ steps }) });

try {
  // Google translate: one entry per segment, detected language only without a source, the key
  // in the query or the x-goog-api-key header.
  const google = await postGoogle("", { q: ["Hello", "Der Hund ist nicht hier", "  "], target: "de" });
  assert.deepEqual(google, {
    data: {
      translations: [
        { translatedText: "[de] Hello", detectedSourceLanguage: "en" },
        { translatedText: "[de] Der Hund ist nicht hier", detectedSourceLanguage: "de" },
        { translatedText: "  ", detectedSourceLanguage: "en" },
      ],
    },
  });
  const withSource = await fetch(`${simulator.url}/language/translate/v2`, {
    method: "POST",
    headers: { "x-goog-api-key": "verify-key", "content-type": "application/json" },
    body: JSON.stringify({ q: "Hello", target: "zh-CN", source: "en" }),
  });
  assert.deepEqual(await jsonOf(withSource), { data: { translations: [{ translatedText: "[zh-CN] Hello" }] } });

  // Google detect and languages.
  const detected = await postGoogle("/detect", { q: ["Le chat est sur la table", "Hello world"] });
  assert.deepEqual(detected.data.detections, [
    [{ language: "fr", confidence: 0.5, isReliable: false }],
    [{ language: "en", confidence: 0.1, isReliable: false }],
  ]);
  const named = await get(`/language/translate/v2/languages${googleKey}&target=en`);
  assert.equal(named.data.languages.length, 12);
  assert.deepEqual(named.data.languages[10], { language: "zh-CN", name: "Chinese (Simplified)" });
  const codes = await get(`/language/translate/v2/languages${googleKey}`);
  assert.deepEqual(codes.data.languages[1], { language: "de" });

  // Google errors: its shape, INVALID_ARGUMENT for bad requests, PERMISSION_DENIED without a key.
  const pair = await postGoogle("", { q: "Hello", target: "xx" }, 400);
  assert.deepEqual(pair.error, {
    code: 400,
    message: "Bad language pair",
    errors: [{ message: "Bad language pair", domain: "global", reason: "invalid" }],
    status: "INVALID_ARGUMENT",
  });
  await postGoogle("", { q: Array(129).fill("a"), target: "de" }, 400);
  await postGoogle("", { q: "a", target: "de", format: "pdf" }, 400);
  await postGoogle("", { q: [], target: "de" }, 400);
  await postGoogle("", { q: "a" }, 400);
  const noKey = await postGoogle("", { q: "Hello", target: "de" }, 403, "");
  assert.deepEqual(noKey, {
    error: {
      code: 403,
      message: "The request is missing a valid API key.",
      errors: [{ message: "The request is missing a valid API key.", domain: "global", reason: "forbidden" }],
      status: "PERMISSION_DENIED",
    },
  });

  // DeepL translate and languages.
  const deepl = await postDeepL({ text: ["Hello", "El perro y la casa"], target_lang: "DE" });
  assert.deepEqual(deepl, {
    translations: [
      { detected_source_language: "EN", text: "[DE] Hello" },
      { detected_source_language: "ES", text: "[DE] El perro y la casa" },
    ],
  });
  const sourced = await postDeepL({ text: ["Hallo"], target_lang: "en-gb", source_lang: "de" });
  assert.deepEqual(sourced.translations, [{ detected_source_language: "DE", text: "[en-gb] Hallo" }]);
  const sources = await get("/v2/languages", deeplHeaders);
  assert.deepEqual(
    sources.map((/** @type {{ language: string }} */ language) => language.language),
    ["DE", "EN", "ES", "FR", "IT", "JA", "NL", "PT", "ZH"],
  );
  const targets = await get("/v2/languages?type=target", deeplHeaders);
  assert.ok(targets.some((/** @type {{ language: string }} */ language) => language.language === "PT-BR"));
  assert.deepEqual(targets[1], { language: "EN-GB", name: "English (British)", supports_formality: false });

  // DeepL errors: { message } with the status.
  assert.deepEqual(
    await postDeepL({ text: ["Hello"], target_lang: "DE" }, 403, { "content-type": "application/json" }),
    {
      message: "Authorization failure, check auth_key",
    },
  );
  assert.equal(
    (await postDeepL({ text: ["Hello"], target_lang: "XX" }, 400)).message,
    "Value for 'target_lang' not supported.",
  );
  await postDeepL({ text: Array(51).fill("a"), target_lang: "DE" }, 400);
  await postDeepL({ text: [], target_lang: "DE" }, 400);
  await postDeepL({ text: ["a"] }, 400);

  // HTML: only text nodes are translated; markup, comments, entities, script and style stay as they are.
  const html =
    '<p class="x">Hello <b>world</b>!</p>\n<!-- a <b>comment</b> --><br/>' +
    "<script>if (a<b && c>d) go();</script><style>p > b { color: red }</style>&nbsp;Caf&eacute; <i> </i>";
  const translatedHtml =
    '<p class="x">[de] Hello <b>[de] world</b>[de] !</p>\n<!-- a <b>comment</b> --><br/>' +
    "<script>if (a<b && c>d) go();</script><style>p > b { color: red }</style>[de] &nbsp;Caf&eacute; <i> </i>";
  const googleHtml = await postGoogle("", { q: html, target: "de", format: "html", source: "en" });
  assert.equal(googleHtml.data.translations[0].translatedText, translatedHtml);
  assert.equal(translatedHtml.replaceAll("[de] ", ""), html);
  const deeplHtml = await postDeepL({ text: [html], target_lang: "de", tag_handling: "html" });
  assert.equal(deeplHtml.translations[0].text, translatedHtml);

  // Scripted failures, then the normal answer; the marker is translated like any text.
  assert.equal((await script("flaky", [{ status: 503 }, { delayMs: 40 }])).status, 200);
  const flaky = { q: ["[scenario:flaky] Good morning"], target: "fr" };
  const unavailable = await postGoogle("", flaky, 503);
  assert.deepEqual([unavailable.error.code, unavailable.error.status], [503, "UNAVAILABLE"]);
  const startedAt = Date.now();
  const recovered = await postGoogle("", flaky);
  assert.ok(Date.now() - startedAt >= 40);
  assert.equal(recovered.data.translations[0].translatedText, "[fr] [scenario:flaky] Good morning");
  await postGoogle("", flaky);
  await script("quota", [{ status: 456, error: { message: "Quota exceeded" } }]);
  const quota = { text: ["[scenario:quota] Hi"], target_lang: "DE" };
  assert.deepEqual(await postDeepL(quota, 456), { message: "Quota exceeded" });
  await postDeepL(quota);
  const badStep = await script("bad", [{ status: 503, delay: 5 }]);
  assert.equal(badStep.status, 400);
  assert.match((await jsonOf(badStep)).error.message, /steps\[0\]\.delay/);

  // Recording per scenario.
  const calls = (await get("/__sim/scenarios/flaky/calls")).data;
  assert.equal(calls.length, 3);
  const { startedAt: recordedAt, ...first } = calls[0];
  assert.ok(typeof recordedAt === "number" && recordedAt <= startedAt);
  assert.deepEqual(first, {
    provider: "google",
    path: "/language/translate/v2",
    segments: ["[scenario:flaky] Good morning"],
    target: "fr",
    source: null,
    format: "text",
  });
  const quotaCalls = (await get("/__sim/scenarios/quota/calls")).data;
  assert.deepEqual(
    quotaCalls.map((/** @type {{ provider: string }} */ call) => call.provider),
    ["deepl", "deepl"],
  );

  // Counting translate calls by text, across providers; detection is no translate call.
  const unique = `count-me-${Date.now()}`;
  await postGoogle("", { q: ["other", `a ${unique} b`], target: "de" });
  await postDeepL({ text: [unique], target_lang: "FR" });
  await postGoogle("/detect", { q: unique });
  assert.deepEqual(await get(`/__sim/calls?text=${unique}`), { count: 2 });
  assert.deepEqual(await get("/__sim/calls?text=never-sent-anywhere"), { count: 0 });

  // A client that goes away mid-answer does not take the server down.
  await script("gone", [{ delayMs: 200 }]);
  const controller = new AbortController();
  const aborted = fetch(`${simulator.url}/v2/translate`, {
    method: "POST",
    headers: deeplHeaders,
    body: JSON.stringify({ text: ["[scenario:gone] bye"], target_lang: "DE" }),
    signal: controller.signal,
  });
  setTimeout(() => controller.abort(), 20);
  await assert.rejects(aborted);
  await new Promise((resolve) => setTimeout(resolve, 250));
  assert.equal((await postDeepL({ text: ["still here"], target_lang: "DE" })).translations[0].text, "[DE] still here");

  // Hostile modes: by step, and by a /__hostile/<mode> base URL (the languages lists name no scenario).
  await script("echo", [{ status: 400, hostile: "echo_headers" }]);
  const echoed = await postDeepL({ text: ["[scenario:echo] hi"], target_lang: "DE" }, 400);
  assert.match(echoed.message, /DeepL-Auth-Key verify-key/);
  const spoiledLanguages = await get(`/__hostile/wrong_types/language/translate/v2/languages${googleKey}&target=en`);
  assert.equal(spoiledLanguages.data.languages[0].language, 42);
  const garbage = await fetch(`${simulator.url}/__hostile/garbage/v2/languages`, { headers: deeplHeaders });
  assert.equal(garbage.status, 200);
  assert.ok(!(await garbage.text()).startsWith("["));

  // latencyMs delays every provider answer.
  const slow = await startTranslateSimulator({ latencyMs: 50 });
  try {
    const slowStart = Date.now();
    const response = await fetch(`${slow.url}/v2/languages`, { headers: deeplHeaders });
    assert.equal(response.status, 200);
    assert.ok(Date.now() - slowStart >= 50);
  } finally {
    await slow.close();
  }

  console.log("ok");
} finally {
  await simulator.close();
}
