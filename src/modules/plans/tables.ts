import { sql } from "drizzle-orm";
import { check, integer, primaryKey, sqliteTable, text } from "drizzle-orm/sqlite-core";

/**
 * Plans and their entitlements, one column each so limits are typed and queryable. Seeded by
 * a migration (they are product configuration, needed in production); more rows may follow.
 * Stripe price ids belong to billing's configuration, not here.
 */
export const plans = sqliteTable(
  "plans",
  {
    id: text("id").primaryKey(),
    name: text("name").notNull(),
    /** Display order, cheapest first. */
    rank: integer("rank").notNull(),
    requestsPerMinute: integer("requests_per_minute").notNull(),
    authRequestsPerMinute: integer("auth_requests_per_minute").notNull(),
    aiRequestsPerMinute: integer("ai_requests_per_minute").notNull(),
    uploadRequestsPerMinute: integer("upload_requests_per_minute").notNull(),
    /** An org-wide cap over all its members and keys, for plans that set one. */
    orgRequestsPerMinute: integer("org_requests_per_minute"),
    /** Included each month, in millicredits (1 credit = 1 000). */
    monthlyIncludedMillicredits: integer("monthly_included_millicredits").notNull(),
    maxUploadBytes: integer("max_upload_bytes").notNull(),
    storageQuotaBytes: integer("storage_quota_bytes").notNull(),
    translatedCharactersPerMonth: integer("translated_characters_per_month").notNull(),
    bulkJobs: integer("bulk_jobs", { mode: "boolean" }).notNull(),
    maxOrgMembers: integer("max_org_members").notNull(),
    /** How long files uploaded to compress (and, with the compression service, its outputs) are kept. */
    compressionRetentionDays: integer("compression_retention_days").notNull().default(30),
  },
  (table) => [check("plans_limits_positive", sql`${table.requestsPerMinute} > 0 AND ${table.maxOrgMembers} > 0`)],
);

/** An admin's choice of plan for one account (user or org); it wins until deleted. */
export const planOverrides = sqliteTable("plan_overrides", {
  accountId: text("account_id").primaryKey(),
  planId: text("plan_id")
    .notNull()
    .references(() => plans.id),
  setBy: text("set_by").notNull(),
  createdAt: integer("created_at").notNull(),
});

/**
 * Quota counters: one row per (account, metric, period). The CHECK is the invariant: a
 * consume that would pass the limit fails as a statement, so concurrent requests can never
 * overshoot (ARCHITECTURE.md, Data rules). `limit_value` is the plan's limit when last consumed.
 */
export const quotaUsage = sqliteTable(
  "quota_usage",
  {
    accountId: text("account_id").notNull(),
    metric: text("metric").notNull(),
    periodStart: integer("period_start").notNull(),
    used: integer("used").notNull(),
    limitValue: integer("limit_value").notNull(),
  },
  (table) => [
    primaryKey({ columns: [table.accountId, table.metric, table.periodStart] }),
    check("quota_usage_within_limit", sql`${table.used} >= 0 AND ${table.used} <= ${table.limitValue}`),
  ],
);
