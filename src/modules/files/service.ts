import { and, eq, type SQL } from "drizzle-orm";
import { accountCan } from "../../middleware/tenancy";
import { clock } from "../../platform/clock";
import type { RequestContext } from "../../platform/context";
import { database } from "../../platform/db";
import { AppError } from "../../platform/errors";
import { keyset, toPage } from "../../platform/pagination";
import { attachmentReadable } from "./attachments";
import { forget } from "./quota";
import { type FilePurpose, files } from "./tables";

/**
 * Files as their account sees them: listing, reading, renaming and deleting. A file belongs to
 * the account it was uploaded for; that account's members read it, its owners and admins (and
 * whoever uploaded it) change and delete it; whoever the module of a resource it is attached to
 * lets read it reads it (attachments.ts); to anyone else it does not exist (404).
 */

export type FileRow = typeof files.$inferSelect;

export function publicFile(row: FileRow) {
  return {
    id: row.id,
    accountId: row.accountId,
    purpose: row.purpose,
    name: row.name,
    contentType: row.contentType,
    size: row.size,
    sha256: row.sha256,
    uploadedBy: row.uploadedBy,
    createdAt: clock.iso(row.createdAt),
    updatedAt: clock.iso(row.updatedAt),
    expiresAt: row.expiresAt === null ? null : clock.iso(row.expiresAt),
    attachedTo: row.attachedKind && row.attachedId ? { kind: row.attachedKind, id: row.attachedId } : null,
  };
}

/** A file of the request's account, or 404 (an attached file's readers do not see its links). */
export async function ownFile(ctx: Pick<RequestContext, "env" | "account">, fileId: string): Promise<FileRow> {
  const [row] = await database(ctx.env)
    .select()
    .from(files)
    .where(and(eq(files.id, fileId), eq(files.accountId, ctx.account.id)));
  if (!row) throw new AppError("not_found", "No such file.");
  return row;
}

/**
 * A file the caller may read: one of the request's account, or one attached to a resource whose
 * module lets the caller read it (a student's submission, for its course's instructors); else 404.
 */
export async function readableFile(
  ctx: Pick<RequestContext, "env" | "account" | "principal">,
  fileId: string,
): Promise<FileRow> {
  const [row] = await database(ctx.env).select().from(files).where(eq(files.id, fileId));
  if (row && (row.accountId === ctx.account.id || (await attachmentReadable(ctx.env, row, ctx.principal.id)))) {
    return row;
  }
  throw new AppError("not_found", "No such file.");
}

/** A file the caller may change or delete: its uploader, or an owner or admin of its org (403 for other members). */
export async function changeableFile(ctx: RequestContext, fileId: string): Promise<FileRow> {
  const row = await ownFile(ctx, fileId);
  if (row.uploadedBy !== ctx.principal.id && !accountCan(ctx.account, "files:manage")) {
    throw new AppError(
      "forbidden",
      "Only whoever uploaded this file, or an owner or admin of its organization, may change it.",
    );
  }
  return row;
}

export async function listFiles(
  ctx: Pick<RequestContext, "env" | "account">,
  query: { limit: number; cursor?: string; purpose?: FilePurpose },
) {
  const { after, orderBy } = keyset(query.cursor, files.createdAt, files.id, "desc");
  const conditions: (SQL | undefined)[] = [eq(files.accountId, ctx.account.id), after];
  if (query.purpose) conditions.push(eq(files.purpose, query.purpose));
  const rows = await database(ctx.env)
    .select()
    .from(files)
    .where(and(...conditions))
    .orderBy(...orderBy)
    .limit(query.limit + 1);
  const { items, nextCursor } = toPage(rows, query.limit, (row) => ({ key: row.createdAt, id: row.id }));
  return { items: items.map(publicFile), nextCursor };
}

export async function renameFile(ctx: RequestContext, fileId: string, name: string) {
  await changeableFile(ctx, fileId);
  const now = clock.now();
  const [row] = await database(ctx.env)
    .update(files)
    .set({ name, updatedAt: now })
    .where(and(eq(files.id, fileId), eq(files.accountId, ctx.account.id)))
    .returning();
  if (!row) throw new AppError("not_found", "No such file.");
  return publicFile(row);
}

/** Deletes the object, then the row and its links, giving its bytes back to the quota. */
export async function deleteFile(ctx: RequestContext, fileId: string): Promise<void> {
  const row = await changeableFile(ctx, fileId);
  // The object first: a retry after a failure here finds the row and deletes again.
  await ctx.env.FILES.delete(row.r2Key);
  if (!(await forget(ctx.env, row.id))) throw new AppError("not_found", "No such file.");
}
