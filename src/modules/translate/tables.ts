import { index, integer, primaryKey, sqliteTable, text } from "drizzle-orm/sqlite-core";

/**
 * What each translation request translated, per provider that served it: all its characters
 * and those from the cache. A row arrives through the payer's wallet (ARCHITECTURE.md, Money:
 * no D1 write on the request path), at least once, so its id (`<call id>:<provider>`) keys it;
 * the stats sum the rows; `TRANSLATE_USAGE_RETENTION_DAYS` bounds them.
 */
export const translationUsage = sqliteTable(
  "translation_usage",
  {
    id: text("id").primaryKey(),
    accountId: text("account_id").notNull(),
    provider: text("provider", { enum: ["google", "deepl", "ai"] }).notNull(),
    characters: integer("characters").notNull(),
    cachedCharacters: integer("cached_characters").notNull(),
    createdAt: integer("created_at").notNull(),
  },
  (table) => [
    index("translation_usage_account").on(table.accountId, table.createdAt),
    index("translation_usage_created").on(table.createdAt),
  ],
);

/**
 * The daily sums kept before `translation_usage` (copied into it by migration 0020). The
 * previous version still writes here until it is replaced, so the table goes in a later
 * release's migration, applied once no Worker of that version runs.
 */
export const translationStats = sqliteTable(
  "translation_stats",
  {
    accountId: text("account_id").notNull(),
    day: integer("day").notNull(),
    provider: text("provider", { enum: ["google", "deepl", "ai"] }).notNull(),
    characters: integer("characters").notNull(),
    cachedCharacters: integer("cached_characters").notNull(),
  },
  (table) => [primaryKey({ columns: [table.accountId, table.day, table.provider] })],
);
