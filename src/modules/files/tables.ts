import { sql } from "drizzle-orm";
import { check, index, integer, primaryKey, sqliteTable, text } from "drizzle-orm/sqlite-core";

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
    /** Hex SHA-256 of the bytes; null until a resumable upload's follow-up task has read them. */
    sha256: text("sha256"),
    r2Key: text("r2_key").notNull(),
    createdAt: integer("created_at").notNull(),
    updatedAt: integer("updated_at").notNull(),
    /** When the retention cron deletes it (its plan's retention for its purpose); null: kept until deleted. */
    expiresAt: integer("expires_at"),
    /**
     * The resource of another module the file is attached to (`learning.submission`, its id):
     * that module says who else may read it (`fileReadersPort`).
     */
    attachedKind: text("attached_kind"),
    attachedId: text("attached_id"),
  },
  (table) => [
    index("files_account").on(table.accountId, table.createdAt, table.id),
    index("files_attached").on(table.attachedKind, table.attachedId),
    index("files_expiry").on(table.expiresAt),
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

/**
 * An upload in more than one request: a resumable one (parts of `part_size` in any order, then
 * `complete`) or one through a signed URL (one PUT of exactly `size` bytes). It lives as long as
 * its reservation, of all its bytes, from its start: releasing or committing the reservation
 * deletes it (and its parts) with it.
 */
export const uploadSessions = sqliteTable(
  "upload_sessions",
  {
    id: text("id").primaryKey(),
    kind: text("kind", { enum: ["resumable", "signed"] }).notNull(),
    /** The reservation, and the id the file will have. */
    fileId: text("file_id")
      .notNull()
      .unique()
      .references(() => pendingUploads.id, { onDelete: "cascade" }),
    accountId: text("account_id").notNull(),
    createdBy: text("created_by").notNull(),
    name: text("name").notNull(),
    purpose: text("purpose", { enum: FILE_PURPOSES }).notNull(),
    declaredType: text("declared_type"),
    size: integer("size").notNull(),
    partSize: integer("part_size").notNull(),
    partCount: integer("part_count").notNull(),
    /** The type the first part's bytes are, once it arrived (and was accepted). */
    sniffedType: text("sniffed_type"),
    /** When a signed URL's one PUT began: a second one finds it taken. */
    claimedAt: integer("claimed_at"),
    createdAt: integer("created_at").notNull(),
    expiresAt: integer("expires_at").notNull(),
  },
  (table) => [index("upload_sessions_account").on(table.accountId, table.createdAt)],
);

/** The parts of a resumable upload that R2 has: a part sent again replaces its row. */
export const uploadParts = sqliteTable(
  "upload_parts",
  {
    sessionId: text("session_id")
      .notNull()
      .references(() => uploadSessions.id, { onDelete: "cascade" }),
    number: integer("number").notNull(),
    etag: text("etag").notNull(),
    size: integer("size").notNull(),
    createdAt: integer("created_at").notNull(),
  },
  (table) => [primaryKey({ columns: [table.sessionId, table.number] })],
);
