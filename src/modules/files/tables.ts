import { sql } from "drizzle-orm";
import { check, index, integer, sqliteTable, text } from "drizzle-orm/sqlite-core";

/** What a file is for: it decides the types allowed (sniff.ts) and, later, its retention. */
export const FILE_PURPOSES = ["compression", "avatar", "document", "submission", "attachment"] as const;
export type FilePurpose = (typeof FILE_PURPOSES)[number];

/**
 * A stored file's metadata; its bytes are the R2 object `r2_key` (built from ids only). The
 * content type is what the bytes are (sniffed), never what the client said.
 */
export const files = sqliteTable(
  "files",
  {
    id: text("id").primaryKey(),
    accountId: text("account_id").notNull(),
    uploadedBy: text("uploaded_by").notNull(),
    purpose: text("purpose", { enum: FILE_PURPOSES }).notNull(),
    name: text("name").notNull(),
    contentType: text("content_type").notNull(),
    size: integer("size").notNull(),
    /** Hex SHA-256 of the bytes. */
    sha256: text("sha256").notNull(),
    r2Key: text("r2_key").notNull(),
    createdAt: integer("created_at").notNull(),
    updatedAt: integer("updated_at").notNull(),
  },
  (table) => [
    index("files_account").on(table.accountId, table.createdAt, table.id),
    check("files_size_positive", sql`${table.size} > 0`),
  ],
);

/**
 * Storage reserved for an upload under way, counted in `storage_usage` from the moment it is
 * reserved. Success deletes the row in the batch that writes the file; a failure gives the bytes
 * back; a client that vanished leaves the row to expire, and the cron gives them back then
 * (aborting its R2 multipart upload, deleting any object).
 */
export const pendingUploads = sqliteTable(
  "pending_uploads",
  {
    /** The id the file will have. */
    id: text("id").primaryKey(),
    accountId: text("account_id").notNull(),
    bytes: integer("bytes").notNull(),
    r2Key: text("r2_key").notNull(),
    /** Set when the bytes go to an R2 multipart upload. */
    r2UploadId: text("r2_upload_id"),
    createdAt: integer("created_at").notNull(),
    expiresAt: integer("expires_at").notNull(),
  },
  (table) => [
    index("pending_uploads_expiry").on(table.expiresAt),
    check("pending_uploads_bytes", sql`${table.bytes} >= 0`),
  ],
);

/**
 * Each account's storage level: its files and its reservations, in bytes. The CHECK is the
 * quota (ARCHITECTURE.md, Data rules): a reservation sets `limit_value` to the plan's limit of
 * the moment and adds its bytes in one statement, which fails past it, so concurrent uploads
 * can never store more than the quota. Giving bytes back leaves the limit as it was.
 */
export const storageUsage = sqliteTable(
  "storage_usage",
  {
    accountId: text("account_id").primaryKey(),
    used: integer("used").notNull(),
    limitValue: integer("limit_value").notNull(),
  },
  (table) => [check("storage_usage_within_limit", sql`${table.used} >= 0 AND ${table.used} <= ${table.limitValue}`)],
);

/**
 * A signed download link of a file. The URL carries the signature; this row makes each link
 * revocable on its own (deleting it revokes it), and every link dies with its file.
 */
export const fileLinks = sqliteTable(
  "file_links",
  {
    id: text("id").primaryKey(),
    fileId: text("file_id")
      .notNull()
      .references(() => files.id, { onDelete: "cascade" }),
    disposition: text("disposition", { enum: ["attachment", "inline"] }).notNull(),
    createdBy: text("created_by").notNull(),
    createdAt: integer("created_at").notNull(),
    expiresAt: integer("expires_at").notNull(),
  },
  (table) => [
    index("file_links_file").on(table.fileId, table.createdAt),
    index("file_links_expiry").on(table.expiresAt),
  ],
);
