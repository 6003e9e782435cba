import { type Config, configOf } from "../../../env";
import { AppError } from "../../../platform/errors";
import type { Logger } from "../../../platform/logger";
import { aiTranslate } from "./ai";
import { deeplTranslate } from "./deepl";
import { googleTranslate } from "./google";
import { type TranslateProvider, TranslateProviderError, type TranslateProviderId } from "./types";

/** The configured providers in `TRANSLATE_PROVIDERS` order: Google and DeepL need a key, `ai` its model. */
export function providersOf(config: Config, logger: Logger, accountId: string): TranslateProvider[] {
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
    ai: () => aiTranslate(config, logger, accountId),
  };
  return [...new Set(config.TRANSLATE_PROVIDERS)]
    .map((id) => make[id]())
    .filter((provider): provider is TranslateProvider => provider !== null);
}

/** The providers a request may use: the named one only, or every configured one in order. */
export function usableProviders(context: { env: Env; logger: Logger; accountId: string }, named?: TranslateProviderId) {
  const all = providersOf(configOf(context.env), context.logger, context.accountId);
  if (!named) return all;
  const provider = all.find((candidate) => candidate.id === named);
  if (!provider) {
    throw new AppError("validation_failed", `The provider "${named}" is not configured here.`, {
      errors: [
        { path: "body.provider", message: `one of: ${all.map((candidate) => candidate.id).join(", ") || "none"}` },
      ],
    });
  }
  return [provider];
}

/** Answers a provider gives a request it will never take (a language it lacks), unlike an outage. */
const REFUSALS = new Set([400, 422]);

/**
 * Runs `call` on each provider in turn until one answers, each within TRANSLATE_TIMEOUT_MS.
 * When none does: 400 if every one refused the request itself, else 503 `provider_unavailable`;
 * in our words either way (what the providers said is logged, redacted, never answered).
 */
export async function firstAnswering<T>(
  context: { env: Env; logger: Logger },
  providers: TranslateProvider[],
  call: (provider: TranslateProvider, signal: AbortSignal) => Promise<T>,
): Promise<{ provider: TranslateProvider; result: T }> {
  const { TRANSLATE_TIMEOUT_MS } = configOf(context.env);
  let refusals = 0;
  for (const provider of providers) {
    try {
      return { provider, result: await call(provider, AbortSignal.timeout(TRANSLATE_TIMEOUT_MS)) };
    } catch (error) {
      const timedOut = error instanceof DOMException && error.name === "TimeoutError";
      if (!(error instanceof TranslateProviderError) && !timedOut) throw error;
      if (error instanceof TranslateProviderError && error.status !== undefined && REFUSALS.has(error.status)) {
        refusals += 1;
      }
      context.logger.warn("translation provider failed", {
        provider: provider.id,
        error: error instanceof Error ? error.message : String(error),
        ...(error instanceof TranslateProviderError ? { status: error.status, upstream: error.excerpt } : {}),
      });
    }
  }
  if (refusals === providers.length && providers.length > 0) {
    throw new AppError(
      "validation_failed",
      "The translation providers refused this request (a language or language pair they do not offer, for example).",
    );
  }
  throw new AppError("provider_unavailable", "No translation provider could answer; try again shortly.", {
    headers: { "retry-after": "5" },
  });
}
