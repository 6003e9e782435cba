import type { Config } from "../../../env";
import type { Logger } from "../../../platform/logger";
import { aiTranslate } from "./ai";
import { deeplTranslate } from "./deepl";
import { googleTranslate } from "./google";
import type { TranslateProvider, TranslateProviderId } from "./types";

/** The configured providers in `TRANSLATE_PROVIDERS` order: Google and DeepL need a key, `ai` its model. */
export function providersOf(config: Config, logger: Logger): TranslateProvider[] {
  const make: Record<TranslateProviderId, () => TranslateProvider | null> = {
    google: () =>
      config.GOOGLE_TRANSLATE_API_KEY
        ? googleTranslate({
            apiKey: config.GOOGLE_TRANSLATE_API_KEY,
            baseUrl: config.GOOGLE_TRANSLATE_BASE_URL,
            pricePerMillion: config.TRANSLATE_GOOGLE_PRICE_PER_MILLION,
          })
        : null,
    deepl: () =>
      config.DEEPL_API_KEY
        ? deeplTranslate({
            apiKey: config.DEEPL_API_KEY,
            baseUrl: config.DEEPL_BASE_URL,
            pricePerMillion: config.TRANSLATE_DEEPL_PRICE_PER_MILLION,
          })
        : null,
    ai: () => aiTranslate(config, logger),
  };
  return [...new Set(config.TRANSLATE_PROVIDERS)]
    .map((id) => make[id]())
    .filter((provider): provider is TranslateProvider => provider !== null);
}
