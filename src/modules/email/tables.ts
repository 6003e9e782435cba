import { sql } from "drizzle-orm";
import { check, index, integer, sqliteTable, text } from "drizzle-orm/sqlite-core";

/**
 * Every email Stratus sends, written before its delivery task is queued. Bodies can hold
 * single-use tokens, so they are cleared once a provider has accepted the message or its
 * delivery has failed for good; with the `log` provider (development) they stay, for
 * GET /v1/dev/outbox.
 */
export const emailOutbox = sqliteTable(
  "email_outbox",
  {
    id: text("id").primaryKey(),
    toAddress: text("to_address").notNull(),
    template: text("template").notNull(),
    subject: text("subject").notNull(),
    textBody: text("text_body"),
    htmlBody: text("html_body"),
    status: text("status", { enum: ["queued", "sent", "logged", "failed"] }).notNull(),
    provider: text("provider"),
    providerMessageId: text("provider_message_id"),
    createdAt: integer("created_at").notNull(),
    sentAt: integer("sent_at"),
  },
  (table) => [
    index("email_outbox_created").on(table.createdAt),
    check("email_outbox_status_known", sql`${table.status} IN ('queued', 'sent', 'logged', 'failed')`),
  ],
);
