import { integer, primaryKey, sqliteTable, text } from "drizzle-orm/sqlite-core";

/**
 * Translated characters per account, UTC day and provider: all of them, and those served
 * from the cache. One upsert per request and provider keeps it cheap; the stats read it.
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
