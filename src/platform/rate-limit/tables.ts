import { index, integer, primaryKey, sqliteTable, text } from "drizzle-orm/sqlite-core";

/**
 * Refused requests, aggregated: the limiter object of each key adds its refusals here at most
 * every `REFUSAL_FLUSH_MS`, one row per (key, 5-minute bucket), never one write per refusal.
 * Read by the admin's "most refused" list; purged by cron after `REFUSAL_RETENTION_MS`.
 */
export const rateLimitRefusals = sqliteTable(
  "rate_limit_refusals",
  {
    limitKey: text("limit_key").notNull(),
    bucketStart: integer("bucket_start").notNull(),
    refused: integer("refused").notNull(),
  },
  (table) => [
    primaryKey({ columns: [table.limitKey, table.bucketStart] }),
    index("rate_limit_refusals_bucket").on(table.bucketStart),
  ],
);

export const REFUSAL_BUCKET_MS = 5 * 60_000;
export const REFUSAL_FLUSH_MS = 30_000;
export const REFUSAL_RETENTION_MS = 2 * 24 * 3_600_000;
