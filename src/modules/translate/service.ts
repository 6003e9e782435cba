import { configOf } from "../../env";
import { AppError } from "../../platform/errors";
import { type AiCaller, holdCredits } from "../ai/metering";
import { chargeOf } from "../ai/pricing";
import type { Hold } from "../billing/ledger";
import { release, settle } from "../billing/ledger";
import { consume, refund } from "../plans/quotas";
import { type Cached, readCache, type Segment, segmentIdOf, writeCache } from "./cache";
import { pendingTranslation, shareTranslations, within } from "./inflight";
import { providersOf } from "./providers";
import {
  type TranslateProvider,
  TranslateProviderError,
  type TranslateProviderId,
  type TranslateRequest,
} from "./providers/types";
import { recordStats } from "./stats";
import { countedCharacters, type TextFormat } from "./text";

/**
 * A translation request, end to end: count its characters (code points; text nodes of HTML)
 * and take them from the plan's monthly quota up front; look every distinct segment up in the
 * KV cache at once; hold credits once for the misses at the dearest provider that may answer;
 * translate the misses in one call per provider, falling through the providers in order, while
 * sharing in-flight calls with concurrent requests of this isolate; then settle what the
 * answering provider cost. A failure gives the quota and the hold back.
 */

export type TranslateInput = {
  q: string[];
  target: string;
  source?: string;
  format: TextFormat;
  provider?: TranslateProviderId;
};

export type TranslationOut = {
  translatedText: string;
  detectedSourceLanguage?: string;
  provider: TranslateProviderId;
  cached: boolean;
};

type Fresh = { provider: TranslateProviderId; translations: Map<string, Cached>; cost: number };

/** The providers a request may use: the named one only, or every configured one in order. */
export function usableProviders(caller: AiCaller, named?: TranslateProviderId): TranslateProvider[] {
  const all = providersOf(configOf(caller.env), caller.logger);
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
 * Runs `call` on each provider in turn until one answers, each within TRANSLATE_TIMEOUT_MS;
 * 503 `provider_unavailable` when none does.
 */
export async function firstAnswering<T>(
  caller: AiCaller,
  providers: TranslateProvider[],
  call: (provider: TranslateProvider, signal: AbortSignal) => Promise<T>,
): Promise<{ provider: TranslateProvider; result: T }> {
  const { TRANSLATE_TIMEOUT_MS } = configOf(caller.env);
  for (const provider of providers) {
    try {
      return { provider, result: await call(provider, AbortSignal.timeout(TRANSLATE_TIMEOUT_MS)) };
    } catch (error) {
      const timedOut = error instanceof DOMException && error.name === "TimeoutError";
      if (!(error instanceof TranslateProviderError) && !timedOut) throw error;
      caller.logger.warn("translation provider failed", { provider: provider.id, error: String(error) });
    }
  }
  throw new AppError("provider_unavailable", "No translation provider could answer; try again shortly.", {
    headers: { "retry-after": "5" },
  });
}

/** The distinct segments of a request, by id, with their counted characters. */
type Counted = Segment & { characters: number };
type Segments = Map<string, Counted>;

/** What a provider is asked for some of a request's segments (all share target, source, format). */
function providerRequestOf(segments: Counted[]): TranslateRequest {
  const [first] = segments;
  if (!first) throw new Error("nothing to translate");
  return {
    texts: segments.map((segment) => segment.text),
    target: first.target,
    ...(first.source ? { source: first.source } : {}),
    format: first.format,
    characters: segments.reduce((sum, segment) => sum + segment.characters, 0),
  };
}

/** Translates `keys` (distinct segments) with the first provider that answers. */
async function translateFresh(
  caller: AiCaller,
  providers: TranslateProvider[],
  keys: string[],
  segments: Segments,
): Promise<Fresh> {
  const request = providerRequestOf(keys.map((key) => segments.get(key) as Counted));
  const { provider, result } = await firstAnswering(caller, providers, (candidate, signal) =>
    candidate.translate(request, signal),
  );
  const translations = new Map<string, Cached>();
  keys.forEach((key, index) => {
    const translated = result.translations[index] as (typeof result.translations)[number];
    translations.set(key, {
      text: translated.text,
      provider: provider.id,
      ...(translated.detectedSourceLanguage ? { detectedSourceLanguage: translated.detectedSourceLanguage } : {}),
    });
  });
  return { provider: provider.id, translations, cost: result.cost };
}

/**
 * The misses' translations: those another request of this isolate is translating are awaited
 * (if that call fails or is too slow, they are translated here after all), the rest are
 * translated in one call, shared with concurrent requests and run under this request's
 * `waitUntil` so it finishes even if this client leaves. Answers what this request's own call
 * cost (nothing when every miss came from another's).
 */
async function translateMisses(caller: AiCaller, providers: TranslateProvider[], misses: string[], segments: Segments) {
  const { TRANSLATE_TIMEOUT_MS } = configOf(caller.env);
  const fresh = new Map<string, Cached>();
  const shared = await Promise.all(
    misses.map(async (key) => {
      const pending = pendingTranslation(key);
      return [key, pending ? await within(pending, TRANSLATE_TIMEOUT_MS) : null] as const;
    }),
  );
  for (const [key, translation] of shared) if (translation) fresh.set(key, translation);
  const own = misses.filter((key) => !fresh.has(key));
  if (own.length === 0) return { fresh, own: new Map<string, Cached>(), cost: 0 };
  const call = translateFresh(caller, providers, own, segments);
  shareTranslations(
    own,
    call.then((result) => result.translations),
  );
  caller.waitUntil(call.catch(() => {}));
  const started = performance.now();
  const result = await call;
  caller.timing("upstream", performance.now() - started);
  for (const [key, translation] of result.translations) fresh.set(key, translation);
  return { fresh, own: result.translations, cost: result.cost };
}

/** Holds what the misses may cost at the dearest of the providers; null when they are free. */
async function holdFor(caller: AiCaller, providers: TranslateProvider[], misses: Counted[]) {
  const request = providerRequestOf(misses);
  const ceiling = chargeOf(Math.max(0, ...providers.map((provider) => provider.ceiling(request))));
  return ceiling > 0 ? holdCredits(caller, ceiling) : null;
}

export async function translate(caller: AiCaller, input: TranslateInput) {
  const config = configOf(caller.env);
  const providers = usableProviders(caller, input.provider);
  if (providers.length === 0) {
    throw new AppError("provider_unavailable", "No translation provider is configured here.");
  }
  const counts = input.q.map((text) => countedCharacters(text, input.format));
  const total = counts.reduce((sum, count) => sum + count, 0);
  const consumption = total > 0 ? await consume(caller.env, caller.accountId, "translated_characters", total) : null;
  let hold: Hold | null = null;
  try {
    const base = { target: input.target, format: input.format, ...(input.source ? { source: input.source } : {}) };
    const keys = input.q.map((text) => segmentIdOf({ ...base, text }, input.provider));
    const segments: Segments = new Map(
      keys.map((key, index) => [key, { ...base, text: input.q[index] as string, characters: counts[index] as number }]),
    );
    const lookedUp = performance.now();
    const cached = await readCache(caller.env.CACHE, [...segments.keys()]);
    caller.timing("cache", performance.now() - lookedUp);
    const misses = [...segments.keys()].filter((key) => !cached.has(key));
    let fresh = new Map<string, Cached>();
    let charged = 0;
    if (misses.length > 0) {
      hold = await holdFor(
        caller,
        providers,
        misses.map((key) => segments.get(key) as Counted),
      );
      const translated = await translateMisses(caller, providers, misses, segments);
      fresh = translated.fresh;
      charged = hold ? Math.min(chargeOf(translated.cost), hold.amount) : 0;
      if (hold && charged > 0) await settle(caller.env, hold, charged);
      else if (hold) await release(caller.env, hold);
      hold = null;
      // Only after settling: a batch's cache writes would otherwise queue ahead of it.
      caller.waitUntil(
        writeCache(caller.env.CACHE, [...translated.own], config.TRANSLATE_CACHE_TTL_SECONDS).then(({ dropped }) => {
          if (dropped > 0) caller.logger.warn("translation cache writes dropped", { dropped });
        }),
      );
    }
    const translations: TranslationOut[] = keys.map((key) => {
      const fromCache = cached.get(key);
      const translation = (fromCache ?? fresh.get(key)) as Cached;
      return {
        translatedText: translation.text,
        ...(translation.detectedSourceLanguage ? { detectedSourceLanguage: translation.detectedSourceLanguage } : {}),
        provider: translation.provider,
        cached: fromCache !== undefined,
      };
    });
    recordStats(
      {
        env: caller.env,
        waitUntil: caller.waitUntil,
        onError: (error) => caller.logger.error("translation stats not written", { error: String(error) }),
      },
      caller.accountId,
      translations.map((translation, index) => ({
        provider: translation.provider,
        characters: counts[index] as number,
        cached: translation.cached,
      })),
    );
    return { translations, chargedMillicredits: charged };
  } catch (error) {
    if (consumption) await refund(caller.env, caller.accountId, consumption, total);
    if (hold) await release(caller.env, hold).catch(() => {});
    throw error;
  }
}
