import type { RequestContext } from "../../../platform/context";
import { AppError } from "../../../platform/errors";
import { attemptUpstreams, within } from "../../../platform/upstreams/attempts";
import { aiTranslate } from "./ai";
import { deeplTranslate } from "./deepl";
import { googleTranslate } from "./google";
import type { TranslateProvider, TranslateProviderId } from "./types";

/** What choosing and calling providers needs of the request. */
type ProviderContext = Pick<RequestContext, "config" | "logger" | "account">;

/** The configured providers in `TRANSLATE_PROVIDERS` order: Google and DeepL need a key, `ai` its model. */
function providersOf(context: ProviderContext): TranslateProvider[] {
  const { config } = context;
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
    ai: () => aiTranslate(context),
  };
  return [...new Set(config.TRANSLATE_PROVIDERS)]
    .map((id) => make[id]())
    .filter((provider): provider is TranslateProvider => provider !== null);
}

/** The providers a request may use: the named one only, or every configured one in order. */
export function usableProviders(context: ProviderContext, named?: TranslateProviderId) {
  const all = providersOf(context);
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

/**
 * Runs `call` on each provider in turn until one answers, through the resilience engine: each
 * attempt within TRANSLATE_TIMEOUT_MS, retried on a provider's fault (429, 5xx, unreachable, too
 * slow, an invalid answer) with backoff, a provider whose circuit is open skipped, all of it
 * within TRANSLATE_TOTAL_TIMEOUT_MS. A provider that refuses the request itself (a language it
 * lacks) hands over to the next. When none answers: 400 if every one refused, else 503
 * `provider_unavailable`; in our words either way (what the providers said is logged, redacted,
 * never answered).
 */
export async function firstAnswering<T>(
  context: ProviderContext,
  providers: TranslateProvider[],
  call: (provider: TranslateProvider, signal: AbortSignal) => Promise<T>,
): Promise<{ provider: TranslateProvider; result: T }> {
  const { config } = context;
  const deployments = providers.map((provider) => ({
    provider,
    circuit: `translate:${provider.id}`,
    name: provider.id,
    ...(provider.attempts ? { attempts: provider.attempts } : {}),
  }));
  const total = AbortSignal.timeout(config.TRANSLATE_TOTAL_TIMEOUT_MS);
  const unavailable = (waitMs: number) =>
    new AppError("provider_unavailable", "No translation provider could answer; try again shortly.", {
      headers: { "retry-after": String(Math.max(1, Math.ceil(waitMs / 1000))) },
    });
  try {
    return await attemptUpstreams(
      deployments,
      {
        kind: "translation",
        logger: context.logger,
        circuit: { threshold: config.TRANSLATE_CIRCUIT_FAILURES, cooldownMs: config.TRANSLATE_CIRCUIT_COOLDOWN_MS },
        accountId: context.account.id,
        signal: total,
        refused: () => null,
        everyoneRefused: () =>
          new AppError(
            "validation_failed",
            "The translation providers refused this request (a language or language pair they do not offer, for example).",
          ),
        unavailable,
      },
      async ({ deployment, signal }) => ({
        provider: deployment.provider,
        result: await within(config.TRANSLATE_TIMEOUT_MS, { signal, name: deployment.name }, (attempt) =>
          call(deployment.provider, attempt),
        ),
      }),
    );
  } catch (error) {
    // Out of time for the whole translation: the providers' fault, however far the attempts got.
    if (total.aborted && !(error instanceof AppError)) throw unavailable(5_000);
    throw error;
  }
}
