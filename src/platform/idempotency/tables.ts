import { sql } from "drizzle-orm";
import { check, index, integer, primaryKey, sqliteTable, text } from "drizzle-orm/sqlite-core";

/** One row per (principal, Idempotency-Key): the claim, then the stored answer, for 24 h. */
export const idempotencyKeys = sqliteTable(
  "idempotency_keys",
  {
    principalId: text("principal_id").notNull(),
    key: text("key").notNull(),
    requestHash: text("request_hash").notNull(),
    state: text("state", { enum: ["in_flight", "completed"] }).notNull(),
    responseStatus: integer("response_status"),
    /** JSON object of the replayed headers (REPLAYED_HEADERS in the middleware). */
    responseHeaders: text("response_headers"),
    /** Null for a completed answer that is not replayed (not JSON, or too large to keep). */
    responseBody: text("response_body"),
    /** An in-flight claim older than this was abandoned (the isolate died); it may be taken over. */
    lockedUntil: integer("locked_until").notNull(),
    createdAt: integer("created_at").notNull(),
    expiresAt: integer("expires_at").notNull(),
  },
  (table) => [
    primaryKey({ columns: [table.principalId, table.key] }),
    index("idempotency_keys_expires_at").on(table.expiresAt),
    check("idempotency_keys_state_known", sql`${table.state} IN ('in_flight', 'completed')`),
  ],
);
