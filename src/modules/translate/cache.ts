import { TtlCache } from "../../platform/ttl-cache";
import type { TranslateProviderId } from "./providers/types";
import type { TextFormat } from "./text";

/**
 * The translation cache in KV: one entry per segment, keyed by a hash of its source, target,
 * format and text (and the provider, when the request named one). The value says which
 * provider translated it. Reads are bulk gets; writes happen after the answer and may fail
 * (KV takes one write a second per key): a lost write only costs a later miss.
 *
 * In front of KV, each isolate keeps the segments it read or wrote lately in memory (a cache
 * safe to lose: a key's translation never changes). Hot strings (an app's UI) then cost no KV
 * read at all, and a repeated batch answers without a round trip. Long segments stay out, so
 * the memory it takes stays bounded (5 000 entries of at most 2 000 characters).
 */

export type Segment = { text: string; target: string; source?: string; format: TextFormat };
export type Cached = { text: string; provider: TranslateProviderId; detectedSourceLanguage?: string };

const KEYS_PER_BULK_GET = 100;
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

/** The cached translations of `segmentIds` (distinct), by id: from this isolate's memory, else from KV. */
export async function readCache(kv: KVNamespace, segmentIds: string[]): Promise<Map<string, Cached>> {
  const found = new Map<string, Cached>();
  const unknown: string[] = [];
  for (const id of segmentIds) {
    const value = memory.get(id);
    if (value) found.set(id, value);
    else unknown.push(id);
  }
  const idsByKey = new Map(await Promise.all(unknown.map(async (id) => [await kvKeyOf(id), id] as const)));
  const keys = [...idsByKey.keys()];
  const batches: string[][] = [];
  for (let at = 0; at < keys.length; at += KEYS_PER_BULK_GET) batches.push(keys.slice(at, at + KEYS_PER_BULK_GET));
  for (const answer of await Promise.all(batches.map((batch) => kv.get<Cached>(batch, "json")))) {
    for (const [key, value] of answer) {
      const id = idsByKey.get(key);
      if (!value || id === undefined) continue;
      found.set(id, value);
      remember(id, value);
    }
  }
  return found;
}

/** Stores fresh translations; a refused write is dropped (counted in the log, never raised). */
export async function writeCache(
  kv: KVNamespace,
  entries: [string, Cached][],
  ttlSeconds: number,
): Promise<{ written: number; dropped: number }> {
  for (const [id, value] of entries) remember(id, value);
  const outcomes = await Promise.allSettled(
    entries.map(async ([id, value]) => kv.put(await kvKeyOf(id), JSON.stringify(value), { expirationTtl: ttlSeconds })),
  );
  const dropped = outcomes.filter((outcome) => outcome.status === "rejected").length;
  return { written: outcomes.length - dropped, dropped };
}
