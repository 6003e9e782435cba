import { z } from "zod";
import { Redactor } from "../../../platform/redact";
import { UpstreamError } from "../../../platform/upstreams/error";
import { fromProviderCode, googleCode } from "../languages";
import { answerOf, ProviderLanguageCode, providerFetch, type TranslateProvider } from "./types";

/** Google Cloud Translation, v2 (basic) REST API: the key in a header, up to 128 segments a call. */

type Settings = { apiKey: string; baseUrl: string; pricePerMillion: number };

/** What is used of each answer; unknown fields pass, wrong types fail (a fault of the provider). */
const TranslationsSchema = z.object({
  data: z.object({
    translations: z.array(
      z.object({ translatedText: z.string(), detectedSourceLanguage: ProviderLanguageCode.nullish() }),
    ),
  }),
});
const DetectionsSchema = z.object({
  data: z.object({
    detections: z.array(
      z.array(z.object({ language: ProviderLanguageCode, confidence: z.number().finite().min(0).max(1) })).max(16),
    ),
  }),
});
const LanguagesSchema = z.object({
  data: z.object({
    languages: z.array(z.object({ language: ProviderLanguageCode, name: z.string().max(200).nullish() })).max(1_000),
  }),
});

export function googleTranslate(settings: Settings): TranslateProvider {
  const base = `${settings.baseUrl.replace(/\/+$/, "")}/language/translate/v2`;
  const headers = { "content-type": "application/json", "x-goog-api-key": settings.apiKey };
  const redactor = new Redactor([settings.apiKey]);
  const costOf = (characters: number) => characters * settings.pricePerMillion;
  const post = (path: string, body: unknown, signal: AbortSignal) =>
    providerFetch(
      "google",
      `${base}${path}`,
      { method: "POST", headers, body: JSON.stringify(body), signal },
      redactor,
    );
  return {
    id: "google",
    ceiling: (request) => costOf(request.characters),
    async translate(request, signal, meter) {
      const response = await post(
        "",
        {
          q: request.texts,
          target: googleCode(request.target),
          format: request.format,
          ...(request.source ? { source: googleCode(request.source) } : {}),
        },
        signal,
      );
      const { translations } = (await answerOf("google", response, TranslationsSchema)).data;
      if (translations.length !== request.texts.length) {
        throw UpstreamError.invalidAnswer(
          "google",
          `${translations.length} translations for ${request.texts.length} texts`,
        );
      }
      meter.add(costOf(request.characters));
      return {
        translations: translations.map((item) => ({
          text: item.translatedText,
          ...(item.detectedSourceLanguage
            ? { detectedSourceLanguage: fromProviderCode(item.detectedSourceLanguage) }
            : {}),
        })),
      };
    },
    detectCeiling: (_texts, characters) => costOf(characters),
    async detect(texts, characters, signal, meter) {
      const { detections } = (await answerOf("google", await post("/detect", { q: texts }, signal), DetectionsSchema))
        .data;
      if (detections.length !== texts.length) {
        throw UpstreamError.invalidAnswer("google", "detections do not match the texts");
      }
      meter.add(costOf(characters));
      return {
        detections: detections.map((candidates) => {
          const best = candidates[0];
          return best
            ? { language: fromProviderCode(best.language), confidence: best.confidence }
            : { language: "und", confidence: 0 };
        }),
      };
    },
    async languages(signal) {
      const response = await providerFetch("google", `${base}/languages?target=en`, { headers, signal }, redactor);
      const { languages } = (await answerOf("google", response, LanguagesSchema)).data;
      return languages.map((language) => ({
        code: fromProviderCode(language.language),
        ...(language.name ? { name: language.name } : {}),
      }));
    },
  };
}
