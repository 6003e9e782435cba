import { z } from "@hono/zod-openapi";
import { and, eq, gte, inArray, lt, sql } from "drizzle-orm";
import { clock, DAY_MS } from "../../platform/clock";
import type { Configured } from "../../platform/context";
import { dateRangeOf } from "../../platform/date-range";
import { database, insertJsonRows } from "../../platform/db";
import type { RecordSink, WalletRecord } from "../billing/api";
import type { TranslateProviderId } from "./providers/types";
import { translationUsage } from "./tables";

/**
 * Translation statistics: what each request translated, by provider, and their sums. A
 * request's rows travel with its settlement through the payer's wallet to this module's sink.
 */

export type Served = { provider: TranslateProviderId; characters: number; cached: boolean };

/** The sink's name for translation usage rows (wired in the composition root). */
export const USAGE_SINK = "translate.usage";

/** A request's segments, summed per provider, as the wallet records that carry them to D1. */
export function usageRecords(callId: string, accountId: string, served: Served[]): WalletRecord[] {
  const byProvider = new Map<TranslateProviderId, { characters: number; cachedCharacters: number }>();
  for (const segment of served) {
    const sums = byProvider.get(segment.provider) ?? { characters: 0, cachedCharacters: 0 };
    sums.characters += segment.characters;
    if (segment.cached) sums.cachedCharacters += segment.characters;
    byProvider.set(segment.provider, sums);
  }
  const createdAt = clock.now();
  return [...byProvider].map(([provider, sums]) => {
    const id = `${callId}:${provider}`;
    return { sink: USAGE_SINK, id, body: { id, accountId, provider, ...sums, createdAt } };
  });
}

const UsageBody = z.object({
  id: z.string(),
  accountId: z.string(),
  provider: z.enum(["google", "deepl", "ai"]),
  characters: z.number().int().min(0),
  cachedCharacters: z.number().int().min(0),
  createdAt: z.number().int(),
});

/** The usage rows of a copy batch, in one statement; a row already copied is skipped. */
export const usageSink: RecordSink = (env, records) => {
  const rows = records.map((record) => UsageBody.parse(record.body));
  return insertJsonRows(env, translationUsage, rows);
};

export type StatsQuery = { from?: string; to?: string };

/** One account's statistics (or, with `accountId` null, the platform's) from `from` to `to`; default 30 days. */
export async function statsOf(env: Env, accountId: string | null, query: StatsQuery) {
  const { from, to } = dateRangeOf(query);
  const rows = await database(env)
    .select({
      provider: translationUsage.provider,
      characters: sql<number>`sum(${translationUsage.characters})`,
      cachedCharacters: sql<number>`sum(${translationUsage.cachedCharacters})`,
    })
    .from(translationUsage)
    .where(
      and(
        accountId === null ? undefined : eq(translationUsage.accountId, accountId),
        gte(translationUsage.createdAt, from),
        lt(translationUsage.createdAt, to),
      ),
    )
    .groupBy(translationUsage.provider)
    .orderBy(translationUsage.provider);
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

/** Deletes usage rows older than TRANSLATE_USAGE_RETENTION_DAYS, a bounded number per cron run. */
export async function purgeOldUsage({ env, config }: Configured, now: number, limit = 1_000): Promise<number> {
  const cutoff = now - config.TRANSLATE_USAGE_RETENTION_DAYS * DAY_MS;
  const db = database(env);
  const old = db
    .select({ id: translationUsage.id })
    .from(translationUsage)
    .where(lt(translationUsage.createdAt, cutoff))
    .limit(limit);
  const deleted = await db
    .delete(translationUsage)
    .where(inArray(translationUsage.id, old))
    .returning({ id: translationUsage.id });
  return deleted.length;
}
