import { sql } from "drizzle-orm";
import { check, index, integer, sqliteTable, text } from "drizzle-orm/sqlite-core";

/**
 * The status row of every piece of work handed to the JOBS queue (ARCHITECTURE.md, Data
 * rules): written `received` before the message is sent, then `processed` or `failed`.
 * `reference` is the unique key of the effect, so the same work is never recorded twice.
 */
export const queueTasks = sqliteTable(
  "queue_tasks",
  {
    id: text("id").primaryKey(),
    kind: text("kind").notNull(),
    reference: text("reference").notNull().unique(),
    payload: text("payload").notNull(),
    status: text("status", { enum: ["received", "processed", "failed"] }).notNull(),
    /** Deliveries tried so far (the queue's own count, as last reported). */
    attempts: integer("attempts").notNull().default(0),
    /** Times the cron found the task stuck and sent it again. */
    requeues: integer("requeues").notNull().default(0),
    /** A consumer holds the task until then, so two deliveries never run it at once. */
    leasedUntil: integer("leased_until"),
    lastError: text("last_error"),
    createdAt: integer("created_at").notNull(),
    updatedAt: integer("updated_at").notNull(),
    processedAt: integer("processed_at"),
  },
  (table) => [
    index("queue_tasks_status_updated").on(table.status, table.updatedAt),
    index("queue_tasks_kind_processed").on(table.kind, table.processedAt),
    check("queue_tasks_status_known", sql`${table.status} IN ('received', 'processed', 'failed')`),
  ],
);
