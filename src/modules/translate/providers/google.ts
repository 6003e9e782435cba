import { fromProviderCode, googleCode } from "../languages";
import { jsonOf, providerFetch, type TranslateProvider, TranslateProviderError } from "./types";

/** Google Cloud Translation, v2 (basic) REST API: the key in a header, up to 128 segments a call. */

type Settings = { apiKey: string; baseUrl: string; pricePerMillion: number };

export function googleTranslate(settings: Settings): TranslateProvider {
  const base = `${settings.baseUrl.replace(/\/+$/, "")}/language/translate/v2`;
  const headers = { "content-type": "application/json", "x-goog-api-key": settings.apiKey };
  const costOf = (characters: number) => characters * settings.pricePerMillion;
  const post = (path: string, body: unknown, signal: AbortSignal) =>
    providerFetch("google", `${base}${path}`, { method: "POST", headers, body: JSON.stringify(body), signal });
  return {
    id: "google",
    ceiling: (request) => costOf(request.characters),
    async translate(request, signal) {
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
      const body = await jsonOf<{
        data?: { translations?: { translatedText: string; detectedSourceLanguage?: string }[] };
      }>("google", response);
      const translations = body.data?.translations ?? [];
      if (translations.length !== request.texts.length) {
        throw new TranslateProviderError(
          `google: ${translations.length} translations for ${request.texts.length} texts`,
        );
      }
      return {
        translations: translations.map((item) => ({
          text: item.translatedText,
          ...(item.detectedSourceLanguage
            ? { detectedSourceLanguage: fromProviderCode(item.detectedSourceLanguage) }
            : {}),
        })),
        cost: costOf(request.characters),
      };
    },
    detectCeiling: (_texts, characters) => costOf(characters),
    async detect(texts, characters, signal) {
      const body = await jsonOf<{ data?: { detections?: { language: string; confidence: number }[][] } }>(
        "google",
        await post("/detect", { q: texts }, signal),
      );
      const detections = body.data?.detections ?? [];
      if (detections.length !== texts.length)
        throw new TranslateProviderError("google: detections do not match the texts");
      return {
        detections: detections.map((candidates) => {
          const best = candidates[0];
          return best
            ? { language: fromProviderCode(best.language), confidence: best.confidence }
            : { language: "und", confidence: 0 };
        }),
        cost: costOf(characters),
      };
    },
    async languages(signal) {
      const response = await providerFetch("google", `${base}/languages?target=en`, { headers, signal });
      const body = await jsonOf<{ data?: { languages?: { language: string; name?: string }[] } }>("google", response);
      return (body.data?.languages ?? []).map((language) => ({
        code: fromProviderCode(language.language),
        ...(language.name ? { name: language.name } : {}),
      }));
    },
  };
}
