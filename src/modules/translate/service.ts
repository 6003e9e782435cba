import type { RequestContext } from "../../platform/context";
import { AppError } from "../../platform/errors";
import { type Meter, payerOf, withHold } from "../billing/api";
import { type Cached, readCache, type Segment, segmentIdOf, writeCache } from "./cache";
import { pendingTranslation, shareTranslations, valueWithin } from "./inflight";
import { firstAnswering, usableProviders } from "./providers";
import type { TranslateProvider, TranslateProviderId, TranslateRequest } from "./providers/types";
import { type Served, usageRecords } from "./stats";
import { countedCharacters, type TextFormat } from "./text";

/**
 * A translation request, end to end: look every distinct segment up in the cache at once;
 * in one wallet call, take the request's characters (code points; text nodes of HTML) from the
 * plan's monthly quota and hold credits for the misses at the dearest provider that may answer; translate
 * the misses in one call, falling through the providers in order and sharing in-flight calls
 * with concurrent requests of this isolate; then settle what the providers' answers cost (the
 * hold's meter: an AI answer that proved unusable included). The work after the hold runs under
 * `waitUntil`, so a client that leaves still pays for (and caches) what was translated; a
 * failure gives the quota back, and what of the hold no answer consumed. The request's usage
 * rows (the statistics) travel with the settlement.
 */

/** A translation request that pays: its context, and the server's id of the call, which keys its hold. */
export type TranslateCaller = RequestContext & { callId: string };

type TranslateInput = {
  q: string[];
  target: string;
  source?: string;
  format: TextFormat;
  provider?: TranslateProviderId;
};

type TranslationOut = {
  translatedText: string;
  detectedSourceLanguage?: string;
  provider: TranslateProviderId;
  cached: boolean;
};

type Fresh = { provider: TranslateProviderId; translations: Map<string, Cached> };

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
  caller: TranslateCaller,
  providers: TranslateProvider[],
  keys: string[],
  segments: Segments,
  meter: Meter,
): Promise<Fresh> {
  const request = providerRequestOf(keys.map((key) => segments.get(key) as Counted));
  const { provider, result } = await firstAnswering(caller, providers, (candidate, signal) =>
    candidate.translate(request, signal, meter),
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
  return { provider: provider.id, translations };
}

/**
 * The misses' translations: those another request of this isolate is translating are awaited
 * (if that call fails or is too slow, or is another account's answered by the AI provider,
 * they are translated here after all), the rest are translated in one call, shared with
 * concurrent requests. Answers what this request's own call translated; what it cost is on `meter`.
 */
async function translateMisses(
  caller: TranslateCaller,
  providers: TranslateProvider[],
  misses: string[],
  segments: Segments,
  meter: Meter,
) {
  const { TRANSLATE_TIMEOUT_MS } = caller.config;
  const fresh = new Map<string, Cached>();
  const shared = await Promise.all(
    misses.map(async (id) => {
      const pending = pendingTranslation(id);
      const value = pending ? await valueWithin(pending.promise, TRANSLATE_TIMEOUT_MS) : null;
      const usable = value && (value.provider !== "ai" || pending?.accountId === caller.account.id);
      return [id, usable ? value : null] as const;
    }),
  );
  for (const [id, translation] of shared) if (translation) fresh.set(id, translation);
  const own = misses.filter((id) => !fresh.has(id));
  if (own.length === 0) return { fresh, own: new Map<string, Cached>() };
  const call = translateFresh(caller, providers, own, segments, meter);
  shareTranslations(
    own,
    call.then((result) => result.translations),
    caller.account.id,
  );
  const started = performance.now();
  const result = await call;
  caller.timing("upstream", performance.now() - started);
  for (const [id, translation] of result.translations) fresh.set(id, translation);
  return { fresh, own: result.translations };
}

/** Each segment of the request as the statistics count it. */
function servedOf(
  ids: string[],
  segments: Segments,
  cached: Map<string, Cached>,
  fresh: Map<string, Cached>,
): Served[] {
  return ids.map((id) => {
    const fromCache = cached.get(id);
    return {
      provider: (fromCache ?? (fresh.get(id) as Cached)).provider,
      characters: (segments.get(id) as Counted).characters,
      cached: fromCache !== undefined,
    };
  });
}

export async function translate(caller: TranslateCaller, input: TranslateInput) {
  const config = caller.config;
  const providers = usableProviders(caller, input.provider);
  if (providers.length === 0) {
    throw new AppError("provider_unavailable", "No translation provider is configured here.");
  }
  const base = { target: input.target, format: input.format, ...(input.source ? { source: input.source } : {}) };
  const ids = input.q.map((text) => segmentIdOf({ ...base, text }, input.provider));
  const segments: Segments = new Map(
    ids.map((id, index) => {
      const text = input.q[index] as string;
      return [id, { ...base, text, characters: countedCharacters(text, input.format) }];
    }),
  );
  const total = ids.reduce((sum, id) => sum + (segments.get(id) as Counted).characters, 0);
  const lookedUp = performance.now();
  // Only the AI provider's answers are cached per account: without it, one key per segment.
  const aiMayAnswer = providers.some((provider) => provider.id === "ai");
  const cached = await readCache(caller.env.CACHE, [...segments.keys()], aiMayAnswer ? caller.account.id : null);
  caller.timing("cache", performance.now() - lookedUp);
  const misses = [...segments.keys()].filter((id) => !cached.has(id));
  const providerRequest = misses.length > 0 ? providerRequestOf(misses.map((id) => segments.get(id) as Counted)) : null;
  // One wallet call takes the characters from the plan's quota and holds credits for the misses.
  const { result: fresh, charged } = await withHold(caller, {
    payer: payerOf(caller),
    reference: `translate:${caller.callId}`,
    // What the misses may cost at the dearest of the providers (nothing when all are cached).
    ceiling: providerRequest ? Math.max(0, ...providers.map((provider) => provider.ceiling(providerRequest))) : 0,
    ...(total > 0 ? { count: { metric: "translated_characters" as const, amount: total } } : {}),
    run: async (_held, meter) => {
      if (misses.length === 0) return new Map<string, Cached>();
      const done = await translateMisses(caller, providers, misses, segments, meter);
      caller.waitUntil(
        writeCache(caller.env.CACHE, [...done.own], caller.account.id, config.TRANSLATE_CACHE_TTL_SECONDS)
          .then(({ dropped }) => {
            if (dropped > 0) caller.logger.warn("translation cache writes dropped", { dropped });
          })
          .catch(() => {}),
      );
      return done.fresh;
    },
    // What every provider answer cost (an unusable AI answer included), and the request's statistics.
    measure: (translated, meter) => ({
      cost: meter.consumed,
      records: usageRecords(caller.callId, caller.account.id, servedOf(ids, segments, cached, translated)),
    }),
    // A failure gives the characters back to the quota; what answers it got (an AI model's unusable one) are paid.
  });
  const translations: TranslationOut[] = ids.map((id) => {
    const fromCache = cached.get(id);
    const translation = (fromCache ?? fresh.get(id)) as Cached;
    return {
      translatedText: translation.text,
      ...(translation.detectedSourceLanguage ? { detectedSourceLanguage: translation.detectedSourceLanguage } : {}),
      provider: translation.provider,
      cached: fromCache !== undefined,
    };
  });
  return { translations, chargedMillicredits: charged ?? 0 };
}
