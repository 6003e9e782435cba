import { AppError } from "../../platform/errors";
import { type Meter, payerOf, withHold } from "../billing/api";
import { firstAnswering, usableProviders } from "./providers";
import type { TranslateProvider, TranslateProviderId } from "./providers/types";
import type { TranslateCaller } from "./service";
import { countedCharacters } from "./text";

/** Language detection, and the languages each provider translates into (cached in KV for a day). */

const LANGUAGES_TTL_SECONDS = 86_400;

/** The language of each text, by the first provider that detects (Google, then an AI model); credits as for translation. */
export async function detect(caller: TranslateCaller, texts: string[], named?: TranslateProviderId) {
  const detectors = usableProviders(caller, named).filter((provider) => provider.detect && provider.detectCeiling);
  if (detectors.length === 0) {
    throw new AppError(
      named ? "validation_failed" : "provider_unavailable",
      "No configured provider detects languages.",
      {
        ...(named ? { errors: [{ path: "body.provider", message: "does not detect languages" }] } : {}),
      },
    );
  }
  const characters = texts.reduce((sum, text) => sum + countedCharacters(text, "text"), 0);
  const { result: detected, charged } = await withHold(caller, {
    payer: payerOf(caller),
    reference: `detect:${caller.callId}`,
    ceiling: Math.max(...detectors.map((provider) => provider.detectCeiling?.(texts, characters) ?? 0)),
    run: (_held, meter) => detectBy(caller, detectors, texts, characters, meter),
    // What every answer cost, an unusable one included; a failure is charged the same by default.
    measure: (_answered, meter) => ({ cost: meter.consumed }),
  });
  return {
    detections: detected.result.detections.map((detection) => ({ ...detection, provider: detected.provider.id })),
    chargedMillicredits: charged ?? 0,
  };
}

const detectBy = (
  caller: TranslateCaller,
  detectors: TranslateProvider[],
  texts: string[],
  characters: number,
  meter: Meter,
) =>
  firstAnswering(caller, detectors, (candidate, signal) =>
    (candidate.detect as NonNullable<typeof candidate.detect>)(texts, characters, signal, meter),
  );

type Languages = { code: string; name?: string }[];

/** Each configured provider's target languages; a provider that cannot answer is left out (503 if all). */
export async function languages(caller: TranslateCaller) {
  const config = caller.config;
  const answers = await Promise.all(
    usableProviders(caller).map(async (provider) => {
      const key = `translate:languages:v1:${provider.id}`;
      const cached = await caller.env.CACHE.get<Languages>(key, "json");
      if (cached) return { provider: provider.id, languages: cached };
      try {
        const fetched = await provider.languages(AbortSignal.timeout(config.TRANSLATE_TIMEOUT_MS));
        caller.waitUntil(
          caller.env.CACHE.put(key, JSON.stringify(fetched), { expirationTtl: LANGUAGES_TTL_SECONDS }).catch(() => {}),
        );
        return { provider: provider.id, languages: fetched };
      } catch (error) {
        caller.logger.warn("translation languages unavailable", { provider: provider.id, error: String(error) });
        return null;
      }
    }),
  );
  const providers = answers.filter((answer) => answer !== null);
  if (providers.length === 0) {
    throw new AppError("provider_unavailable", "No translation provider could list its languages; try again shortly.");
  }
  return { providers };
}
