import { and, eq, gte, lt, sql } from "drizzle-orm";
import { clock } from "../../platform/clock";
import { DAY_MS, dateRangeOf } from "../../platform/date-range";
import { database } from "../../platform/db";
import type { TranslateProviderId } from "./providers/types";
import { translationStats } from "./tables";

/** Translation statistics: what each request translated, by provider, and their sums. */

export type Served = { provider: TranslateProviderId; characters: number; cached: boolean };

/** How long an isolate gathers counts before writing them: one write a second at most, not one per request. */
export const STATS_FLUSH_MS = 1_000;

type Counts = {
  accountId: string;
  day: number;
  provider: TranslateProviderId;
  characters: number;
  cachedCharacters: number;
};

const gathered = new Map<string, Counts>();
let flush: Promise<void> | null = null;

/**
 * Adds a request's segments to its account's counters of the day. Counts are gathered in the
 * isolate and written together (one upsert per account and provider) STATS_FLUSH_MS after the
 * first, under that request's `waitUntil`, which keeps the isolate alive until they are.
 */
export function recordStats(
  context: { env: Env; waitUntil(promise: Promise<unknown>): void; onError(error: unknown): void },
  accountId: string,
  served: Served[],
): void {
  const day = Math.floor(clock.now() / DAY_MS) * DAY_MS;
  for (const segment of served) {
    const key = `${accountId}\n${day}\n${segment.provider}`;
    const counts = gathered.get(key) ?? {
      accountId,
      day,
      provider: segment.provider,
      characters: 0,
      cachedCharacters: 0,
    };
    counts.characters += segment.characters;
    if (segment.cached) counts.cachedCharacters += segment.characters;
    gathered.set(key, counts);
  }
  if (flush || gathered.size === 0) return;
  flush = new Promise<void>((resolve) => setTimeout(resolve, STATS_FLUSH_MS)).then(async () => {
    const rows = [...gathered.values()];
    gathered.clear();
    flush = null;
    await writeCounts(context.env, rows);
  });
  context.waitUntil(flush.catch(context.onError));
}

async function writeCounts(env: Env, rows: Counts[]): Promise<void> {
  const db = database(env);
  const [first, ...rest] = rows.map((row) =>
    db
      .insert(translationStats)
      .values(row)
      .onConflictDoUpdate({
        target: [translationStats.accountId, translationStats.day, translationStats.provider],
        set: {
          characters: sql`${translationStats.characters} + ${row.characters}`,
          cachedCharacters: sql`${translationStats.cachedCharacters} + ${row.cachedCharacters}`,
        },
      }),
  );
  if (first) await db.batch([first, ...rest]);
}

export type StatsQuery = { from?: string; to?: string };

/** One account's statistics (or, with `accountId` null, the platform's) from `from` to `to`; default 30 days. */
export async function statsOf(env: Env, accountId: string | null, query: StatsQuery) {
  const { from, to } = dateRangeOf(query);
  const rows = await database(env)
    .select({
      provider: translationStats.provider,
      characters: sql<number>`sum(${translationStats.characters})`,
      cachedCharacters: sql<number>`sum(${translationStats.cachedCharacters})`,
    })
    .from(translationStats)
    .where(
      and(
        accountId === null ? undefined : eq(translationStats.accountId, accountId),
        gte(translationStats.day, Math.floor(from / DAY_MS) * DAY_MS),
        lt(translationStats.day, to),
      ),
    )
    .groupBy(translationStats.provider)
    .orderBy(translationStats.provider);
  const summary = (characters: number, cachedCharacters: number) => ({
    characters,
    cachedCharacters,
    hitRate: characters === 0 ? 0 : Math.round((cachedCharacters / characters) * 10_000) / 10_000,
  });
  const characters = rows.reduce((sum, row) => sum + row.characters, 0);
  const cachedCharacters = rows.reduce((sum, row) => sum + row.cachedCharacters, 0);
  return {
    from: clock.iso(from),
    to: clock.iso(to),
    ...summary(characters, cachedCharacters),
    providers: rows.map((row) => ({ provider: row.provider, ...summary(row.characters, row.cachedCharacters) })),
  };
}
