import { and, eq, gte, inArray, lt, sql } from "drizzle-orm";
import { clock, DAY_MS } from "../../platform/clock";
import type { Configured } from "../../platform/context";
import { dateRangeOf } from "../../platform/date-range";
import { asStatement, database } from "../../platform/db";
import { aiUsage } from "./tables";

/** Usage rows: one per AI request, written after it settles, and their summaries. */

export type UsageRow = typeof aiUsage.$inferInsert;
export type UsageStatus = UsageRow["status"];

/** The usage row as a statement, to write it in its settlement's batch. */
export const usageStatement = (env: Env, row: UsageRow) => asStatement(env, database(env).insert(aiUsage).values(row));

export type UsageQuery = { from?: string; to?: string; groupBy: "day" | "model" };

/**
 * An account's AI usage between `from` (inclusive) and `to` (exclusive), by UTC day or by the
 * model that answered: requests, tokens, the exact cost and the charge. Default: 30 days.
 */
export async function usageSummary(env: Env, accountId: string, query: UsageQuery) {
  const { from, to } = dateRangeOf(query);
  const key =
    query.groupBy === "day"
      ? sql<string>`strftime('%Y-%m-%d', ${aiUsage.createdAt} / 1000, 'unixepoch')`
      : sql<string>`coalesce(${aiUsage.model}, ${aiUsage.requestedModel})`;
  const rows = await database(env)
    .select({
      key,
      requests: sql<number>`count(*)`,
      inputTokens: sql<number>`sum(${aiUsage.inputTokens})`,
      outputTokens: sql<number>`sum(${aiUsage.outputTokens})`,
      cost: sql<number>`sum(${aiUsage.cost})`,
      charged: sql<number>`sum(${aiUsage.charged})`,
    })
    .from(aiUsage)
    .where(and(eq(aiUsage.accountId, accountId), gte(aiUsage.createdAt, from), lt(aiUsage.createdAt, to)))
    .groupBy(key)
    .orderBy(key);
  const totals = rows.reduce(
    (sum, row) => ({
      requests: sum.requests + row.requests,
      inputTokens: sum.inputTokens + row.inputTokens,
      outputTokens: sum.outputTokens + row.outputTokens,
      cost: sum.cost + row.cost,
      charged: sum.charged + row.charged,
    }),
    { requests: 0, inputTokens: 0, outputTokens: 0, cost: 0, charged: 0 },
  );
  return { accountId, from: clock.iso(from), to: clock.iso(to), groupBy: query.groupBy, items: rows, totals };
}

/** Deletes usage rows older than AI_USAGE_RETENTION_DAYS, a bounded number per cron run. */
export async function purgeOldUsage({ env, config }: Configured, now: number, limit = 1_000): Promise<number> {
  const cutoff = now - config.AI_USAGE_RETENTION_DAYS * DAY_MS;
  const db = database(env);
  const old = db.select({ id: aiUsage.id }).from(aiUsage).where(lt(aiUsage.createdAt, cutoff)).limit(limit);
  const deleted = await db.delete(aiUsage).where(inArray(aiUsage.id, old)).returning({ id: aiUsage.id });
  return deleted.length;
}
