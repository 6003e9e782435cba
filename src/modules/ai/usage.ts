import { z } from "@hono/zod-openapi";
import { and, eq, gte, inArray, lt, sql } from "drizzle-orm";
import { clock, DAY_MS } from "../../platform/clock";
import type { Configured } from "../../platform/context";
import { dateRangeOf } from "../../platform/date-range";
import { database, insertJsonRows } from "../../platform/db";
import type { RecordSink, WalletRecord } from "../billing/api";
import { aiUsage } from "./tables";

/**
 * Usage rows: one per AI request, and their summaries. A row travels with its settlement
 * through the payer's wallet (charged there) and reaches D1 through this module's sink.
 */

export type UsageRow = typeof aiUsage.$inferInsert;
export type UsageStatus = UsageRow["status"];

/** The sink's name for usage rows (wired in the composition root). */
export const USAGE_SINK = "ai.usage";

/** A usage row (charged by its settlement) as the wallet record that carries it. */
export function usageRecord(row: Omit<UsageRow, "charged">): WalletRecord {
  return { sink: USAGE_SINK, id: row.id, body: row };
}

const UsageBody = z.object({
  id: z.string(),
  requestId: z.string(),
  accountId: z.string(),
  userId: z.string(),
  apiKeyId: z.string().nullable(),
  endpoint: z.string(),
  requestedModel: z.string(),
  model: z.string().nullable(),
  provider: z.string().nullable(),
  inputTokens: z.number().int().min(0),
  outputTokens: z.number().int().min(0),
  cost: z.number().min(0),
  timeToFirstTokenMs: z.number().int().nullable(),
  latencyMs: z.number().int().min(0),
  status: z.enum(["completed", "incomplete", "failed"]),
  usageSource: z.enum(["provider", "estimated"]).nullable(),
  createdAt: z.number().int(),
});

/** The usage rows of a copy batch, in one statement; a row already copied is skipped. */
export const usageSink: RecordSink = (env, records) => {
  const rows = records.map((record) => ({
    ...UsageBody.parse({ timeToFirstTokenMs: null, usageSource: null, apiKeyId: null, ...record.body }),
    charged: record.charged,
  }));
  return insertJsonRows(env, aiUsage, rows);
};

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
