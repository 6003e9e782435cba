import { env, SELF } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import { testClock } from "../../../src/platform/clock";
import { resetCircuits } from "../../../src/platform/upstreams/circuit";
import { fund, purchasedBalance, scenario } from "../../helpers/ai";
import { type ApiResponse, api, BASE_URL, expectProblem, withClientIp } from "../../helpers/client";
import { as, platformAdmin, type Registered, registerUser } from "../../helpers/identity";
import { expectMatrix, OWNERS_AND_ADMINS, roleMatrix } from "../../helpers/roles";
import { testApp } from "../../helpers/test-app";
import { translateScenario, translateSimulator } from "../../helpers/translate";
import { counterOf, countUsage, drainWallet, walletBalances, walletRows } from "../../helpers/wallet";

type Translation = { translatedText: string; detectedSourceLanguage?: string; provider: string; cached: boolean };
type Translated = { translations: Translation[] };
const simulator = translateSimulator;

/** How many translate calls reached either provider with a segment containing `text`. */
const upstreamCalls = async (text: string) =>
  ((await (await fetch(`${simulator}/__sim/calls?text=${encodeURIComponent(text)}`)).json()) as { count: number })
    .count;

const unique = (label: string) => `${label} ${crypto.randomUUID()}`;

/** A segment's KV key, a contract: `translate:v1:` and the SHA-256 of its identity (account-scoped: prefixed). */
async function cacheKeyOf(text: string, target: string, { source = "", accountId = "" } = {}) {
  const identity = JSON.stringify([source, target, "text", "", text]);
  const scoped = accountId ? `${accountId}\n${identity}` : identity;
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(scoped)));
  return `translate:v1:${Array.from(digest, (byte) => byte.toString(16).padStart(2, "0")).join("")}`;
}

/** How many of `keys` KV holds, read as the cache reads them (bulk gets of up to 100 keys). */
async function keysInKv(keys: string[]) {
  let found = 0;
  for (let at = 0; at < keys.length; at += 100) {
    const values = await env.CACHE.get(keys.slice(at, at + 100), "json");
    found += [...values.values()].filter((value) => value !== null).length;
  }
  return found;
}

/** A full batch: 128 distinct segments. */
const batchOf = (label: string) => Array.from({ length: 128 }, (_, index) => `${label} ${index}`);

async function fundedUser() {
  const user = await registerUser();
  await fund(user.user.id, 10_000_000);
  return user;
}

const translate = (user: Registered, json: Record<string, unknown>, headers = as(user)) =>
  api<Translated>("/v1/translate", { json, headers });

/** The translated characters the account's wallet counted this month. */
const quotaUsed = (accountId: string) => counterOf(accountId, "translated_characters");

/** How many holds the account's wallet took, open or closed (a counter-only take is none). */
const holdsOf = async (accountId: string) =>
  (await walletRows<{ n: number }>(accountId, "SELECT count(*) AS n FROM holds"))[0]?.n ?? 0;

describe("POST /v1/translate", () => {
  it("serves a repeated request from the cache without calling the provider again, and charges only the miss", async () => {
    const user = await fundedUser();
    const text = unique("Good morning");
    const first = await translate(user, { q: text, target: "de", source: "en" });
    expect(first.status, first.text).toBe(200);
    expect(first.body.translations).toEqual([{ translatedText: `[de] ${text}`, provider: "google", cached: false }]);
    // Google's price, US$20 per million characters, is 20 millicredits a character.
    const charged = Number(first.headers.get("x-stratus-cost-millicredits"));
    expect(charged).toBe([...text].length * 20);
    await expect.poll(() => purchasedBalance(user.user.id)).toBe(10_000_000 - charged);
    await expect.poll(async () => (await env.CACHE.list({ prefix: "translate:v1:" })).keys.length).toBeGreaterThan(0);

    let again: ApiResponse<Translated> | undefined;
    await expect
      .poll(async () => {
        again = await translate(user, { q: text, target: "de", source: "en" });
        return again.body.translations[0]?.cached;
      })
      .toBe(true);
    expect(again?.body.translations[0]).toMatchObject({ translatedText: `[de] ${text}`, provider: "google" });
    expect(again?.headers.get("x-stratus-cost-millicredits")).toBe("0");
    expect(await upstreamCalls(text)).toBe(1);
  });

  it("answers a segment another isolate put in KV without calling the provider", async () => {
    const user = await fundedUser();
    const text = unique("From another isolate");
    const key = await cacheKeyOf(text, "pt", { source: "en" });
    await env.CACHE.put(key, JSON.stringify({ text: "Olá de outro lugar", provider: "deepl" }));
    const answer = await translate(user, { q: text, target: "pt", source: "en" });
    expect(answer.body.translations).toEqual([
      { translatedText: "Olá de outro lugar", provider: "deepl", cached: true },
    ]);
    expect(await upstreamCalls(text)).toBe(0);
    expect(await holdsOf(user.user.id)).toBe(0);
  });

  it("answers a full batch from KV through bulk reads of at most 100 keys, with the AI provider or without", async () => {
    const user = await fundedUser();
    const { call } = testApp();
    const withoutAi = { ...env, TRANSLATE_PROVIDERS: "google,deepl" } as unknown as Env;
    // With the AI provider, each segment is looked up in two scopes (256 keys); without, in one (128).
    for (const bindings of [env, withoutAi]) {
      const label = unique("Cached batch");
      const texts = batchOf(label);
      await Promise.all(
        texts.map(async (text, index) =>
          env.CACHE.put(
            await cacheKeyOf(text, "pt", { source: "en" }),
            JSON.stringify({ text: `Lote ${index}`, provider: "deepl" }),
          ),
        ),
      );
      const answer = await call(
        "/v1/translate",
        {
          method: "POST",
          headers: { ...as(user), "content-type": "application/json" },
          body: JSON.stringify({ q: texts, target: "pt", source: "en" }),
        },
        bindings,
      );
      expect(answer.status, answer.text).toBe(200);
      expect((answer.body as unknown as Translated).translations).toEqual(
        texts.map((_, index) => ({ translatedText: `Lote ${index}`, provider: "deepl", cached: true })),
      );
      expect(await upstreamCalls(label)).toBe(0);
    }
    expect(await holdsOf(user.user.id)).toBe(0);
  });

  it("writes every segment of a translated batch to KV once it has answered", async () => {
    const user = await fundedUser();
    const texts = batchOf(unique("Written back"));
    const answer = await translate(user, { q: texts, target: "nl", source: "en" });
    expect(answer.status, answer.text).toBe(200);
    expect(answer.body.translations.every((translation) => !translation.cached)).toBe(true);
    const keys = await Promise.all(texts.map((text) => cacheKeyOf(text, "nl", { source: "en" })));
    await expect.poll(() => keysInKv(keys), { timeout: 10_000 }).toBe(texts.length);
    expect(await env.CACHE.get(keys[5] as string, "json")).toEqual({ text: `[nl] ${texts[5]}`, provider: "google" });
  });

  it("reads the account's own (AI) translations only when the AI provider may answer", async () => {
    const user = await fundedUser();
    const text = unique("Own AI entry");
    const key = await cacheKeyOf(text, "it", { source: "en", accountId: user.user.id });
    await env.CACHE.put(key, JSON.stringify({ text: "Risposta propria", provider: "ai" }));
    const json = { q: text, target: "it", source: "en" };
    expect((await translate(user, json)).body.translations).toEqual([
      { translatedText: "Risposta propria", provider: "ai", cached: true },
    ]);
    const { call } = testApp();
    const withoutAi = await call(
      "/v1/translate",
      { method: "POST", headers: { ...as(user), "content-type": "application/json" }, body: JSON.stringify(json) },
      { ...env, TRANSLATE_PROVIDERS: "google,deepl" } as unknown as Env,
    );
    expect((withoutAi.body as unknown as Translated).translations).toEqual([
      { translatedText: `[it] ${text}`, provider: "google", cached: false },
    ]);
  });

  it("keeps the order of a batch of hits and misses, sending only the distinct misses upstream", async () => {
    const user = await fundedUser();
    const script = await translateScenario();
    const [a, b, c] = ["Alpha", "Bravo", "Charlie"].map((word) => `${script.marker} ${unique(word)}`) as [
      string,
      string,
      string,
    ];
    await translate(user, { q: [a, c], target: "fr" });
    await expect
      .poll(async () => (await translate(user, { q: [a, c], target: "fr" })).body.translations.every((t) => t.cached))
      .toBe(true);

    const mixed = await translate(user, { q: [c, b, a, b], target: "fr" });
    expect(mixed.status, mixed.text).toBe(200);
    expect(mixed.body.translations.map((t) => [t.translatedText, t.cached])).toEqual([
      [`[fr] ${c}`, true],
      [`[fr] ${b}`, false],
      [`[fr] ${a}`, true],
      [`[fr] ${b}`, false],
    ]);
    const calls = await script.calls();
    expect(calls.at(-1)?.segments).toEqual([b]);
    expect(calls.filter((call) => call.segments.includes(b))).toHaveLength(1);
  });

  it("translates HTML text nodes only, keeps the markup, and counts only text characters", async () => {
    const user = await fundedUser();
    const word = unique("Hello");
    const html = `<p class="greeting">${word} <b>world</b> &amp; more<!-- note --></p>`;
    const answer = await translate(user, { q: html, target: "de", format: "html" });
    expect(answer.status, answer.text).toBe(200);
    expect(answer.body.translations[0]?.translatedText).toBe(
      `<p class="greeting">[de] ${word} <b>[de] world</b> [de] &amp; more<!-- note --></p>`,
    );
    expect(await quotaUsed(user.user.id)).toBe([...`${word} world & more`].length);
  });

  it("falls through to the next provider when one keeps failing, and answers 503 when all do, refunding the quota", async () => {
    const user = await fundedUser();
    const failing = await translateScenario([{ status: 503 }, { status: 503 }, { status: 503 }]);
    const text = `${failing.marker} ${unique("Fallback")}`;
    const answer = await translate(user, { q: text, target: "de" });
    expect(answer.status, answer.text).toBe(200);
    expect(answer.body.translations[0]).toMatchObject({ provider: "deepl", translatedText: `[DE] ${text}` });
    // Google three times (the engine's attempts), then DeepL.
    expect((await failing.calls()).map((call) => call.provider)).toEqual(["google", "google", "google", "deepl"]);

    // Google and DeepL down on every attempt, and the AI model answers no JSON array: nothing answers.
    const down = await translateScenario([500, 503, 500, 503, 500, 503].map((status) => ({ status })));
    const used = await quotaUsed(user.user.id);
    const balance = await purchasedBalance(user.user.id);
    expectProblem(
      await translate(user, { q: `${down.marker} ${unique("Down")}`, target: "de" }),
      503,
      "provider_unavailable",
    );
    expect(await quotaUsed(user.user.id)).toBe(used);
    // The AI model did answer, unusably: its tokens are charged (see the next test), nothing else.
    const charged = balance - (await purchasedBalance(user.user.id));
    expect(charged).toBeGreaterThan(0);
    expect(charged).toBeLessThan(1_000);
  });

  it("charges an AI answer that proves unusable as what it consumed: failing is not a way to translate free", async () => {
    const user = await fundedUser();
    const usage = { prompt: 900, completion: 300 };
    // The same tokens, answered once as no JSON at all (503: nothing else may answer), once usably.
    const unusable = await scenario("openai", [{ reply: "Sorry, I cannot do JSON.", usage }]);
    const before = await purchasedBalance(user.user.id);
    const used = await quotaUsed(user.user.id);
    expectProblem(
      await translate(user, { q: `${unusable.marker} ${unique("Unusable")}`, target: "de", provider: "ai" }),
      503,
      "provider_unavailable",
    );
    expect((await unusable.requests()).length).toBe(1);
    expect(await quotaUsed(user.user.id)).toBe(used);
    const chargedForUnusable = before - (await purchasedBalance(user.user.id));

    const usable = await scenario("openai", [{ reply: JSON.stringify({ translations: ["Brauchbar"] }), usage }]);
    const answer = await translate(user, { q: `${usable.marker} ${unique("Usable")}`, target: "de", provider: "ai" });
    expect(answer.status, answer.text).toBe(200);
    const chargedForUsable = Number(answer.headers.get("x-stratus-cost-millicredits"));
    expect(chargedForUsable).toBeGreaterThan(0);
    expect(chargedForUnusable).toBe(chargedForUsable);
  });

  it("refuses a request past the monthly quota with 429, translating and consuming nothing", async () => {
    const user = await fundedUser();
    // The free plan allows 50 000 characters a month.
    await countUsage(user.user.id, 49_990);
    const text = unique("Over the quota");
    const refused = await translate(user, { q: text, target: "de" });
    expectProblem(refused, 429, "quota_exceeded");
    expect(refused.headers.get("retry-after")).toMatch(/^\d+$/);
    expect(refused.body).toMatchObject({ limit: 50_000, used: 49_990 });
    expect(await quotaUsed(user.user.id)).toBe(49_990);
    expect(await upstreamCalls(text)).toBe(0);
    expect((await translate(user, { q: "0123456789", target: "de" })).status).toBe(200);
  });

  it("refuses bad input with 400 and consumes nothing", async () => {
    const user = await fundedUser();
    for (const json of [
      { q: "Hi", target: "not a language!" },
      { q: "Hi", target: "und" },
      { q: "Hi", target: "de", source: "xx_YY_ZZ" },
      { q: [], target: "de" },
      { q: Array.from({ length: 129 }, () => "a"), target: "de" },
      { q: "x".repeat(30_001), target: "de" },
      { q: "Hi", target: "de", format: "markdown" },
      { q: "Hi", target: "de", provider: "babelfish" },
      { q: "Hi", target: "de", extra: true },
    ]) {
      expectProblem(await translate(user, json), 400, "validation_failed");
    }
    expect(await quotaUsed(user.user.id)).toBe(0);
  });

  it("puts BCP 47 tags in canonical form and maps them to each provider", async () => {
    const user = await fundedUser();
    const text = unique("Colour");
    const british = await translate(user, { q: text, target: "EN-gb", provider: "deepl" });
    expect(british.body.translations[0]).toMatchObject({ translatedText: `[EN-GB] ${text}`, provider: "deepl" });
    const chinese = await translate(user, { q: text, target: "zh-Hant" });
    expect(chinese.body.translations[0]?.translatedText).toBe(`[zh-TW] ${text}`);
  });

  it("makes at most one upstream call for 50 concurrent identical requests", async () => {
    const user = await fundedUser();
    const slow = await translateScenario([{ delayMs: 300 }]);
    const text = `${slow.marker} ${unique("Together")}`;
    const answers = await Promise.all(
      Array.from({ length: 50 }, () =>
        SELF.fetch(`${BASE_URL}/v1/translate`, {
          method: "POST",
          headers: withClientIp({ ...as(user), "content-type": "application/json" }),
          body: JSON.stringify({ q: text, target: "it" }),
        }),
      ),
    );
    for (const answer of answers) {
      expect(answer.status).toBe(200);
      expect(((await answer.json()) as Translated).translations[0]?.translatedText).toBe(`[it] ${text}`);
    }
    expect(await upstreamCalls(text)).toBe(1);
  });

  it("lets a request sharing a call that fails make its own", async () => {
    const user = await fundedUser();
    const flaky = await translateScenario(Array.from({ length: 3 }, () => ({ delayMs: 300, status: 503 })));
    const text = `${flaky.marker} ${unique("Shared then own")}`;
    const send = () => translate(user, { q: text, target: "ja", provider: "google" });
    const first = send();
    // The second starts while the first's call is in flight, and waits for it.
    await new Promise((resolve) => setTimeout(resolve, 100));
    const [failed, recovered] = await Promise.all([first, send()]);
    expectProblem(failed, 503, "provider_unavailable");
    expect(recovered.status, recovered.text).toBe(200);
    expect(recovered.body.translations[0]).toMatchObject({ translatedText: `[ja] ${text}`, cached: false });
    // The first request's three attempts, then the second's own call.
    expect(await upstreamCalls(text)).toBe(4);
  });

  it("keeps an AI translation to the account that asked for it", async () => {
    const [first, second] = [await fundedUser(), await fundedUser()];
    const llm = await scenario("openai", [
      { reply: JSON.stringify({ translations: ["Steered answer"] }) },
      { reply: JSON.stringify({ translations: ["Honest answer"] }) },
    ]);
    const json = { q: `${llm.marker} Sign in`, target: "de", provider: "ai" };
    expect((await translate(first, json)).body.translations[0]?.translatedText).toBe("Steered answer");
    await expect.poll(async () => (await translate(first, json)).body.translations[0]?.cached).toBe(true);
    const other = await translate(second, json);
    expect(other.body.translations[0]).toEqual({ translatedText: "Honest answer", provider: "ai", cached: false });
    expect(await llm.requests()).toHaveLength(2);
  });

  it("answers 400 when the only provider refuses the request itself", async () => {
    const user = await fundedUser();
    // The DeepL simulator has no Korean.
    const refused = await translate(user, { q: unique("Annyeong"), target: "ko", provider: "deepl" });
    expectProblem(refused, 400, "validation_failed");
    expect(await quotaUsed(user.user.id)).toBe(0);
  });

  it("replays a retried request with the same Idempotency-Key, consuming the quota once", async () => {
    const user = await fundedUser();
    const json = { q: unique("Once only"), target: "de" };
    const headers = { ...as(user), "idempotency-key": crypto.randomUUID() };
    const first = await translate(user, json, headers);
    const again = await translate(user, json, headers);
    expect(again.status).toBe(200);
    expect(again.headers.get("idempotent-replayed")).toBe("true");
    expect(again.body).toEqual(first.body);
    expect(await quotaUsed(user.user.id)).toBe([...json.q].length);
  });

  it("still charges and caches a translation whose client left during the provider call", async () => {
    const user = await fundedUser();
    const slow = await translateScenario([{ delayMs: 400 }]);
    const text = `${slow.marker} ${unique("Left early")}`;
    const leaving = new AbortController();
    const pending = SELF.fetch(`${BASE_URL}/v1/translate`, {
      method: "POST",
      headers: withClientIp({ ...as(user), "content-type": "application/json" }),
      body: JSON.stringify({ q: text, target: "fr" }),
      signal: leaving.signal,
    }).catch(() => null);
    await new Promise((resolve) => setTimeout(resolve, 150));
    leaving.abort();
    await pending;
    await expect
      .poll(async () => purchasedBalance(user.user.id), { timeout: 5_000 })
      .toBe(10_000_000 - [...text].length * 20);
    await expect
      .poll(async () => (await translate(user, { q: text, target: "fr" })).body.translations[0]?.cached)
      .toBe(true);
    expect(await upstreamCalls(text)).toBe(1);
  });

  it("charges an LLM translation once, through a single reservation", async () => {
    const user = await fundedUser();
    const llm = await scenario("openai", [{ reply: JSON.stringify({ translations: ["Hallo Welt"] }) }]);
    const answer = await translate(user, { q: `${llm.marker} Hello world`, target: "de", provider: "ai" });
    expect(answer.status, answer.text).toBe(200);
    expect(answer.body.translations[0]).toEqual({ translatedText: "Hallo Welt", provider: "ai", cached: false });
    const charged = Number(answer.headers.get("x-stratus-cost-millicredits"));
    expect(charged).toBeGreaterThan(0);
    await expect.poll(() => purchasedBalance(user.user.id)).toBe(10_000_000 - charged);
    expect(await holdsOf(user.user.id)).toBe(1);
    expect((await walletBalances(user.user.id)).holds).toEqual([]);
    // One settlement of that one hold: one spend row in the ledger's copy.
    await drainWallet(user.user.id);
    const spent = await env.DB.prepare("SELECT amount FROM credit_ledger WHERE account_id = ? AND reason = 'spend'")
      .bind(user.user.id)
      .all<{ amount: number }>();
    expect(spent.results).toEqual([{ amount: -charged }]);
    const [sent] = await llm.requests();
    expect(sent?.body.response_format).toMatchObject({ type: "json_schema" });
  });

  it("answers 402 for misses without credits, refunding the quota, yet serves cache hits for free", async () => {
    const rich = await fundedUser();
    const text = unique("Cached for all");
    await translate(rich, { q: text, target: "es" });
    const poor = await registerUser();
    expectProblem(await translate(poor, { q: unique("Uncached"), target: "es" }), 402, "insufficient_credits");
    expect(await quotaUsed(poor.user.id)).toBe(0);
    await expect
      .poll(async () => (await translate(poor, { q: text, target: "es" })).body.translations?.[0]?.cached)
      .toBe(true);
    expect(await holdsOf(poor.user.id)).toBe(0);
  });

  it("takes API keys with the translate scope only", async () => {
    const user = await fundedUser();
    const keyWith = async (scopes: string[]) =>
      (await api<{ secret: string }>("/v1/api-keys", { json: { name: "t", scopes }, headers: as(user) })).body.secret;
    const allowed = await keyWith(["translate"]);
    expect(
      (await translate(user, { q: unique("Key"), target: "de" }, { authorization: `Bearer ${allowed}` })).status,
    ).toBe(200);
    const other = await keyWith(["ai"]);
    expectProblem(
      await translate(user, { q: "Key", target: "de" }, { authorization: `Bearer ${other}` }),
      403,
      "forbidden",
    );
  });

  describe("reliability of the translation providers", () => {
    afterEach(() => {
      testClock.reset();
      resetCircuits();
    });

    const providersCalled = async (scenario: { calls(): Promise<{ provider: string }[]> }) =>
      (await scenario.calls()).map((call) => call.provider);
    const { call } = testApp();
    /** Bindings under which Google answers garbage on every call; DeepL still answers. */
    const googleDown = { ...env, GOOGLE_TRANSLATE_BASE_URL: `${simulator}/__hostile/garbage` } as Env;
    /** The provider that translated `text` for `user` under `bindings`, or the failure. */
    const providerFor = async (user: Registered, text: string, bindings: Env = env) => {
      const answer = await call(
        "/v1/translate",
        {
          method: "POST",
          headers: { ...as(user), "content-type": "application/json" },
          body: JSON.stringify({ q: text, target: "de" }),
        },
        bindings,
      );
      return (answer.body as unknown as Translated).translations?.[0]?.provider ?? `${answer.status} ${answer.text}`;
    };

    it("retries a provider's passing faults (503, 429) on the same provider before the next", async () => {
      const user = await fundedUser();
      const flaky = await translateScenario([{ status: 503 }, { status: 429 }]);
      const text = `${flaky.marker} ${unique("Retried")}`;
      const answer = await translate(user, { q: text, target: "de" });
      expect(answer.status, answer.text).toBe(200);
      expect(answer.body.translations[0]).toMatchObject({ provider: "google", translatedText: `[de] ${text}` });
      expect(await providersCalled(flaky)).toEqual(["google", "google", "google"]);
    });

    it("gives up when the whole translation is out of time: 503, however far its attempts got", async () => {
      const user = await fundedUser();
      const slow = await translateScenario(Array.from({ length: 9 }, () => ({ delayMs: 3_000 })));
      const started = Date.now();
      const answer = await providerFor(user, `${slow.marker} ${unique("Slow")}`, {
        ...env,
        TRANSLATE_TIMEOUT_MS: "500",
        TRANSLATE_TOTAL_TIMEOUT_MS: "800",
      } as unknown as Env);
      expect(answer).toMatch(/^503 .*provider_unavailable/);
      expect(Date.now() - started).toBeLessThan(2_500);
    });

    it("moves on at once from a provider that refuses our credentials", async () => {
      const user = await fundedUser();
      const revoked = await translateScenario([{ status: 403 }]);
      const answer = await translate(user, { q: `${revoked.marker} ${unique("Revoked key")}`, target: "de" });
      expect(answer.body.translations[0]?.provider).toBe("deepl");
      expect(await providersCalled(revoked)).toEqual(["google", "deepl"]);
    });

    it("skips a provider whose circuit opened on failures of several accounts, then tries it again after the cool-down", async () => {
      const users = await Promise.all([fundedUser(), fundedUser(), fundedUser()]);
      const recorded = await translateScenario();
      const googleCalls = async () =>
        (await providersCalled(recorded)).filter((provider) => provider === "google").length;
      const ask = (index: number, bindings: Env = env) =>
        providerFor(users[index % users.length] as Registered, `${recorded.marker} ${unique("Circuit")}`, bindings);
      // 5 requests from 3 accounts, each failing 3 times on Google: its circuit opens.
      for (let i = 0; i < 5; i++) expect(await ask(i, googleDown)).toBe("deepl");
      expect(await googleCalls()).toBe(15);
      expect(await ask(5)).toBe("deepl"); // open: Google is not even tried, though it is back
      expect(await googleCalls()).toBe(15);
      testClock.advance(30_001);
      expect(await ask(6)).toBe("google"); // half-open: one trial, which succeeds and closes it
      expect(await ask(7)).toBe("google");
    });

    it("cannot be opened by one account alone: another account's requests still reach the provider", async () => {
      const [hostile, other] = [await fundedUser(), await fundedUser()];
      for (let i = 0; i < 10; i++) expect(await providerFor(hostile, unique("Alone"), googleDown)).toBe("deepl");
      const answer = await translate(other, { q: unique("Other"), target: "de" });
      expect(answer.body.translations[0]?.provider).toBe("google");
    });
  });
});

describe("POST /v1/translate/detect", () => {
  it("detects languages in order", async () => {
    const user = await fundedUser();
    const answer = await api<{ detections: { language: string; confidence: number; provider: string }[] }>(
      "/v1/translate/detect",
      { json: { q: [`Der Hund und die Katze ${unique("")}`, `The cat and the dog ${unique("")}`] }, headers: as(user) },
    );
    expect(answer.status, answer.text).toBe(200);
    expect(answer.body.detections.map((d) => [d.language, d.provider])).toEqual([
      ["de", "google"],
      ["en", "google"],
    ]);
    expect(Number(answer.headers.get("x-stratus-cost-millicredits"))).toBeGreaterThan(0);
  });
});

describe("GET /v1/translate/languages", () => {
  it("lists each provider's languages as BCP 47 codes", async () => {
    const user = await fundedUser();
    const answer = await api<{ providers: { provider: string; languages: { code: string }[] }[] }>(
      "/v1/translate/languages",
      { headers: as(user) },
    );
    expect(answer.status, answer.text).toBe(200);
    const codes = Object.fromEntries(answer.body.providers.map((p) => [p.provider, p.languages.map((l) => l.code)]));
    expect(codes.google).toEqual(expect.arrayContaining(["de", "zh-CN"]));
    expect(codes.deepl).toEqual(expect.arrayContaining(["en-GB", "de"]));
    expect(codes.ai?.length).toBeGreaterThan(10);
  });
});

describe("GET /v1/translate/stats and /v1/admin/translate/stats", () => {
  it("counts characters and cache hits per provider for the caller, an org's admins and platform admins", async () => {
    const cast = await roleMatrix({ scope: "translate" });
    const { org, owner, member } = cast;
    await fund(org.id, 10_000_000);
    const inOrg = (user: Registered) => ({ ...as(user), "x-stratus-org": org.id });
    const text = unique("Stats");
    await translate(member, { q: text, target: "nl" }, inOrg(member));
    await expect
      .poll(
        async () => (await translate(member, { q: text, target: "nl" }, inOrg(member))).body.translations[0]?.cached,
      )
      .toBe(true);
    const length = [...text].length;
    type Stats = { characters: number; cachedCharacters: number; hitRate: number; providers: { provider: string }[] };
    // The usage rows reach D1 through the wallet's copy.
    await expect
      .poll(async () => {
        await drainWallet(org.id);
        return (await api<Stats>("/v1/translate/stats", { headers: inOrg(owner) })).body.cachedCharacters;
      })
      .toBe(length);
    // One row per request (and provider): the miss, and the hit that came from the cache.
    const rows = await env.DB.prepare(
      "SELECT characters, cached_characters AS cached FROM translation_usage WHERE account_id = ?",
    )
      .bind(org.id)
      .all<{ characters: number; cached: number }>();
    expect(rows.results).toEqual(
      expect.arrayContaining([
        { characters: length, cached: 0 },
        { characters: length, cached: length },
      ]),
    );
    const stats = (await api<Stats>("/v1/translate/stats", { headers: inOrg(owner) })).body;
    expect(stats.characters).toBeGreaterThanOrEqual(2 * length);
    expect(stats.hitRate).toBeGreaterThan(0);
    expect(stats.providers.map((p) => p.provider)).toEqual(["google"]);
    expectProblem(await api("/v1/translate/stats", { headers: inOrg(member) }), 403, "forbidden");
    const seen = await expectMatrix<Stats>(cast, { path: "/v1/translate/stats" }, OWNERS_AND_ADMINS);
    expect(seen.admin.body.cachedCharacters).toBe(length);
    expect(seen.keyWithScope.body.cachedCharacters).toBe(length);
    expect((await api<Stats>("/v1/translate/stats", { headers: as(member) })).body.characters).toBe(0);
    expectProblem(await api("/v1/admin/translate/stats", { headers: as(owner) }), 403, "forbidden");
    const platform = await api<Stats>("/v1/admin/translate/stats", { headers: as(await platformAdmin()) });
    expect(platform.body.characters).toBeGreaterThanOrEqual(stats.characters);
  });
});
