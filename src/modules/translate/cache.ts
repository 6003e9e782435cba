import { TtlCache } from "../../platform/ttl-cache";
import type { TranslateProviderId } from "./providers/types";
import type { TextFormat } from "./text";

/**
 * The translation cache in KV: one entry per segment, keyed by a hash of its source, target,
 * format and text (and the provider, when the request named one). The value says which
 * provider translated it. Reads are bulk gets; writes happen after the answer, a few at a
 * time, and may fail (KV takes one write a second per key): a lost write only costs a later miss.
 *
 * A translation by the AI provider is cached for its account only: one prompt translates a
 * whole batch, so a tenant could steer the answer for a common string with the others it
 * sends, and must not serve that answer to anyone else. Lookups read both scopes when the AI
 * provider may answer the request, else the shared one only (half the keys to read and hash).
 *
 * In front of KV, each isolate keeps the segments it read or wrote lately in memory (a cache
 * safe to lose: a key's translation never changes). Hot strings (an app's UI) then cost no KV
 * read at all, and a repeated batch answers without a round trip. Long segments stay out, so
 * the memory it takes stays bounded (5 000 entries of at most 2 000 characters).
 */

export type Segment = { text: string; target: string; source?: string; format: TextFormat };
export type Cached = { text: string; provider: TranslateProviderId; detectedSourceLanguage?: string };

const KEYS_PER_BULK_GET = 100;
/** A batch's KV writes in flight at once: past six, Workers queues an invocation's subrequests anyway. */
const WRITES_AT_ONCE = 6;
const MEMORY_TTL_MS = 5 * 60_000;
const MEMORY_ENTRIES = 5_000;
const MEMORY_MAX_CHARACTERS = 2_000;
const memory = new TtlCache<Cached>(MEMORY_TTL_MS, MEMORY_ENTRIES);

const remember = (id: string, value: Cached) => {
  if (id.length + value.text.length <= MEMORY_MAX_CHARACTERS) memory.set(id, value);
};
const encoder = new TextEncoder();

/**
 * What identifies a segment's translation: its source, target, format and text, and the
 * provider when the request named one. The isolate's maps use it as is; KV keys are its hash.
 */
export const segmentIdOf = (segment: Segment, provider?: TranslateProviderId) =>
  JSON.stringify([segment.source ?? "", segment.target, segment.format, provider ?? "", segment.text]);

async function kvKeyOf(segmentId: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", encoder.encode(segmentId)));
  return `translate:v1:${Array.from(digest, (byte) => byte.toString(16).padStart(2, "0")).join("")}`;
}

/** Where an answer is cached: AI translations under the account, the others for everyone. */
const cacheIdOf = (segmentId: string, value: Cached, accountId: string) =>
  value.provider === "ai" ? accountScoped(segmentId, accountId) : segmentId;
const accountScoped = (segmentId: string, accountId: string) => `${accountId}\n${segmentId}`;

/**
 * The cached translations of `segmentIds` (distinct), by segment id: from this isolate's
 * memory, else from KV. With `accountId` (the AI provider may answer), the account's own
 * entries are read too, and a shared entry wins over them.
 */
export async function readCache(
  kv: KVNamespace,
  segmentIds: string[],
  accountId: string | null,
): Promise<Map<string, Cached>> {
  const candidates = segmentIds.flatMap((id): [string, string][] =>
    accountId === null
      ? [[id, id]]
      : [
          [id, id],
          [accountScoped(id, accountId), id],
        ],
  );
  const found = new Map<string, Cached>();
  const unknown = new Map<string, string>();
  for (const [cacheId, id] of candidates) {
    const value = memory.get(cacheId);
    if (value && !found.has(id)) found.set(id, value);
    else if (!value) unknown.set(cacheId, id);
  }
  const byKey = new Map(
    await Promise.all(
      [...unknown]
        .filter(([, id]) => !found.has(id))
        .map(async ([cacheId, id]) => [await kvKeyOf(cacheId), [cacheId, id]] as const),
    ),
  );
  const keys = [...byKey.keys()];
  const batches: string[][] = [];
  for (let at = 0; at < keys.length; at += KEYS_PER_BULK_GET) batches.push(keys.slice(at, at + KEYS_PER_BULK_GET));
  for (const answer of await Promise.all(batches.map((batch) => kv.get<Cached>(batch, "json")))) {
    for (const [key, value] of answer) {
      const ids = byKey.get(key);
      if (!value || !ids) continue;
      const [cacheId, id] = ids;
      remember(cacheId, value);
      // The shared entry (its cache id is the segment id) wins over the account's.
      if (!found.has(id) || cacheId === id) found.set(id, value);
    }
  }
  return found;
}

/**
 * Stores fresh translations (by segment id): in this isolate's memory at once, then in KV; a
 * refused write is dropped (counted, never raised).
 */
export async function writeCache(
  kv: KVNamespace,
  entries: [string, Cached][],
  accountId: string,
  ttlSeconds: number,
): Promise<{ written: number; dropped: number }> {
  const scoped = entries.map(([id, value]) => [cacheIdOf(id, value, accountId), value] as const);
  for (const [cacheId, value] of scoped) remember(cacheId, value);
  let next = 0;
  let dropped = 0;
  const writer = async () => {
    while (next < scoped.length) {
      const [cacheId, value] = scoped[next++] as (typeof scoped)[number];
      // Each write starts on a later turn of the event loop, behind what is queued: 128 puts
      // issued at once run ahead of the answer and of other requests wherever KV shares the
      // thread (locally, the answer waited 250-700 ms for them); in production it costs nothing.
      await scheduler.wait(0);
      try {
        await kv.put(await kvKeyOf(cacheId), JSON.stringify(value), { expirationTtl: ttlSeconds });
      } catch {
        dropped += 1;
      }
    }
  };
  await Promise.all(Array.from({ length: WRITES_AT_ONCE }, writer));
  return { written: scoped.length - dropped, dropped };
}
