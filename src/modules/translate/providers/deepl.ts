import { z } from "zod";
import { Redactor } from "../../../platform/redact";
import { UpstreamError } from "../../../platform/upstreams/error";
import { deeplSource, deeplTarget, fromProviderCode } from "../languages";
import { answerOf, ProviderLanguageCode, providerFetch, type TranslateProvider } from "./types";

/** DeepL API v2: up to 50 texts a call, so a larger batch is sent as several calls at once. */

type Settings = { apiKey: string; baseUrl: string; pricePerMillion: number };

const TEXTS_PER_CALL = 50;

/** What is used of each answer; unknown fields pass, wrong types fail (a fault of the provider). */
const TranslationsSchema = z.object({
  translations: z.array(z.object({ text: z.string(), detected_source_language: ProviderLanguageCode.nullish() })),
});
const LanguagesSchema = z
  .array(z.object({ language: ProviderLanguageCode, name: z.string().max(200).nullish() }))
  .max(1_000);

export function deeplTranslate(settings: Settings): TranslateProvider {
  const base = `${settings.baseUrl.replace(/\/+$/, "")}/v2`;
  const headers = { "content-type": "application/json", authorization: `DeepL-Auth-Key ${settings.apiKey}` };
  const redactor = new Redactor([settings.apiKey]);
  const costOf = (characters: number) => characters * settings.pricePerMillion;
  return {
    id: "deepl",
    ceiling: (request) => costOf(request.characters),
    async translate(request, signal, meter) {
      const calls: string[][] = [];
      for (let at = 0; at < request.texts.length; at += TEXTS_PER_CALL) {
        calls.push(request.texts.slice(at, at + TEXTS_PER_CALL));
      }
      const answers = await Promise.all(
        calls.map(async (texts) => {
          const response = await providerFetch(
            "deepl",
            `${base}/translate`,
            {
              method: "POST",
              headers,
              signal,
              body: JSON.stringify({
                text: texts,
                target_lang: deeplTarget(request.target),
                ...(request.source ? { source_lang: deeplSource(request.source) } : {}),
                ...(request.format === "html" ? { tag_handling: "html" } : {}),
              }),
            },
            redactor,
          );
          const { translations } = await answerOf("deepl", response, TranslationsSchema);
          if (translations.length !== texts.length) {
            throw UpstreamError.invalidAnswer("deepl", `${translations.length} translations for ${texts.length} texts`);
          }
          return translations;
        }),
      );
      meter.add(costOf(request.characters));
      return {
        translations: answers.flat().map((item) => ({
          text: item.text,
          ...(item.detected_source_language && !request.source
            ? { detectedSourceLanguage: fromProviderCode(item.detected_source_language) }
            : {}),
        })),
      };
    },
    async languages(signal) {
      const response = await providerFetch("deepl", `${base}/languages?type=target`, { headers, signal }, redactor);
      const languages = await answerOf("deepl", response, LanguagesSchema);
      return languages.map((language) => ({
        code: fromProviderCode(language.language),
        ...(language.name ? { name: language.name } : {}),
      }));
    },
  };
}
