import { afterEach, describe, expect, it, vi } from "vitest";
import { fund } from "../../helpers/ai";
import { api, expectProblem } from "../../helpers/client";
import { as, type Registered, registerUser } from "../../helpers/identity";
import { capturedLogs } from "../../helpers/logs";
import { translateSimulator as simulator, type TranslateStep, translateScenario } from "../../helpers/translate";
import { walletBalances } from "../../helpers/wallet";

/**
 * Google Translate and DeepL as hostile upstreams (the simulator's hostile modes): numbers
 * where codes and texts belong, answers that are not JSON, errors that echo our key. Clients
 * get our words and a 4xx/503, never a 500; nothing is charged for an answer not used; the
 * logs never hold a key.
 */

const KEYS = ["google-translate-stratus-tests", "deepl-stratus-tests"];

afterEach(() => vi.restoreAllMocks());

const scriptedMarker = async (steps: TranslateStep[]) => (await translateScenario(steps)).marker;
/** A step on every attempt the engine makes of a provider (3), so that retrying cannot get past it. */
const everyAttempt = (step: TranslateStep) => [step, step, step];

async function fundedUser() {
  const user = await registerUser();
  await fund(user.user.id, 10_000_000);
  return user;
}

/** Nothing was charged, and the failed request's hold was given back before it answered. */
async function expectUncharged(user: Registered) {
  expect(await walletBalances(user.user.id)).toMatchObject({
    balances: { purchased: 10_000_000 },
    held: 0,
    available: 10_000_000,
  });
}

const translate = (user: Registered, json: Record<string, unknown>) =>
  api("/v1/translate", { json, headers: as(user) });

describe("hostile translation providers", () => {
  for (const provider of ["google", "deepl"] as const) {
    for (const mode of ["wrong_types", "garbage"] as const) {
      it(`${provider}: ${mode} answers 503 in our words and charges nothing`, async () => {
        const user = await fundedUser();
        const marker = await scriptedMarker(everyAttempt({ hostile: mode }));
        const response = await translate(user, { q: `Hello ${marker}`, target: "de", provider });
        const problem = expectProblem(response, 503, "provider_unavailable");
        expect(problem.detail).toBe("No translation provider could answer; try again shortly.");
        await expectUncharged(user);
      });
    }

    it(`${provider}: an error echoing our key answers 400 in our words; no key in the answer or the logs`, async () => {
      const user = await fundedUser();
      const marker = await scriptedMarker([{ status: 400, hostile: "echo_headers" }]);
      const logs = capturedLogs();
      const response = await logs.call("/v1/translate", {
        method: "POST",
        headers: { ...as(user), "content-type": "application/json" },
        body: JSON.stringify({ q: `Hello ${marker}`, target: "de", provider }),
      });
      expect(response.status).toBe(400);
      expect(response.body).toMatchObject({
        code: "validation_failed",
        detail:
          "The translation providers refused this request (a language or language pair they do not offer, for example).",
      });
      expect(logs.text()).toContain("translation upstream refused the request");
      expect(logs.text()).toContain("Received headers");
      for (const key of KEYS) {
        expect(response.text).not.toContain(key);
        expect(logs.text()).not.toContain(key);
      }
    });
  }

  it("detection of the wrong types answers 503, never 500", async () => {
    const user = await fundedUser();
    const marker = await scriptedMarker(everyAttempt({ hostile: "wrong_types" }));
    const response = await api("/v1/translate/detect", {
      headers: as(user),
      json: { q: [`Bonjour ${marker}`], provider: "google" },
    });
    expectProblem(response, 503, "provider_unavailable");
    await expectUncharged(user);
  });

  it("language lists of the wrong types or not JSON leave their providers out", async () => {
    const user = await fundedUser();
    const logs = capturedLogs();
    const response = await logs.call(
      "/v1/translate/languages",
      { headers: as(user) },
      {
        GOOGLE_TRANSLATE_BASE_URL: `${simulator}/__hostile/wrong_types`,
        DEEPL_BASE_URL: `${simulator}/__hostile/garbage`,
      },
    );
    expect(response.status).toBe(200);
    const providers = (response.body as unknown as { providers: { provider: string }[] }).providers;
    expect(providers.map((entry) => entry.provider)).toEqual(["ai"]);
    expect(logs.text()).toContain("invalid answer");
  });
});
