import { and, eq, gte, lt, sql } from "drizzle-orm";
import { clock, DAY_MS } from "../../platform/clock";
import { dateRangeOf } from "../../platform/date-range";
import { asStatement, type BatchStatement, database } from "../../platform/db";
import type { TranslateProviderId } from "./providers/types";
import { translationStats } from "./tables";

/** Translation statistics: what each request translated, by provider, and their sums. */

export type Served = { provider: TranslateProviderId; characters: number; cached: boolean };

/**
 * The upserts that add a request's segments to its account's counters of the day, one per
 * provider: they ride in a batch the request writes anyway (its quota, its settlement).
 */
export function statsUpserts(env: Env, accountId: string, served: Served[]): BatchStatement[] {
  const day = Math.floor(clock.now() / DAY_MS) * DAY_MS;
  const byProvider = new Map<TranslateProviderId, { characters: number; cachedCharacters: number }>();
  for (const segment of served) {
    const sums = byProvider.get(segment.provider) ?? { characters: 0, cachedCharacters: 0 };
    sums.characters += segment.characters;
    if (segment.cached) sums.cachedCharacters += segment.characters;
    byProvider.set(segment.provider, sums);
  }
  return [...byProvider].map(([provider, sums]) =>
    asStatement(
      env,
      database(env)
        .insert(translationStats)
        .values({ accountId, day, provider, ...sums })
        .onConflictDoUpdate({
          target: [translationStats.accountId, translationStats.day, translationStats.provider],
          set: {
            characters: sql`${translationStats.characters} + ${sums.characters}`,
            cachedCharacters: sql`${translationStats.cachedCharacters} + ${sums.cachedCharacters}`,
          },
        }),
    ),
  );
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
