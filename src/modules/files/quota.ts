import { eq } from "drizzle-orm";
import { type BatchStatement, database } from "../../platform/db";
import { AppError } from "../../platform/errors";
import { files } from "./tables";

/**
 * The storage quota, exact under concurrency and failure: bytes are reserved (a `pending_uploads`
 * row and the account's `storage_usage` in one batch, whose CHECK refuses past the quota) before
 * they are stored, turned into a file in one batch, or given back. Plain SQL: each statement's
 * role in its batch is the point.
 */

type Reservation = {
  id: string;
  accountId: string;
  r2Key: string;
  expiresAt: number;
  now: number;
  /** The R2 multipart upload the bytes go to, when known from the start (the cron aborts it if abandoned). */
  r2UploadId?: string;
};

/** Adds `bytes` to the account's level within `limit`, or fails the batch it is in. */
const take = (env: Env, accountId: string, bytes: number, limit: number) =>
  env.DB.prepare(
    `INSERT INTO storage_usage (account_id, used, limit_value) VALUES (?1, ?2, ?3)
     ON CONFLICT (account_id) DO UPDATE SET used = used + excluded.used, limit_value = excluded.limit_value`,
  ).bind(accountId, bytes, limit);

/** `403 storage_quota_exceeded` with what the account has used and may use. */
async function quotaExceeded(env: Env, accountId: string, bytes: number, limit: number): Promise<AppError> {
  const used = await storageUsed(env, accountId);
  return new AppError(
    "storage_quota_exceeded",
    used > limit
      ? `This account stores ${used} bytes, over its plan's ${limit}: delete files (or upgrade) before uploading more.`
      : `${bytes} more bytes would pass this account's storage quota (${used} of ${limit} bytes used).`,
    { extensions: { used, limit, needed: bytes } },
  );
}

const isQuotaCheck = (error: unknown) =>
  error instanceof Error && /CHECK constraint failed: storage_usage_within_limit/.test(error.message);

/**
 * Reserves `bytes` for an upload, with `alongside` (rows that live as long as the reservation)
 * in the same batch: `403 storage_quota_exceeded` when they do not fit.
 */
export async function reserve(
  env: Env,
  reservation: Reservation,
  bytes: number,
  limit: number,
  alongside: BatchStatement[] = [],
): Promise<void> {
  const { id, accountId, r2Key, expiresAt, now } = reservation;
  try {
    await env.DB.batch([
      take(env, accountId, bytes, limit),
      env.DB.prepare(
        "INSERT INTO pending_uploads (id, account_id, bytes, r2_key, r2_upload_id, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
      ).bind(id, accountId, bytes, r2Key, reservation.r2UploadId ?? null, now, expiresAt),
      ...alongside,
    ]);
  } catch (error) {
    if (isQuotaCheck(error)) throw await quotaExceeded(env, accountId, bytes, limit);
    throw error;
  }
}

/**
 * Adds `bytes` to a reservation still open (an upload whose length shows as it arrives): false
 * when it is gone (expired and given back by the cron), `storage_quota_exceeded` past the quota.
 */
export async function grow(env: Env, id: string, accountId: string, bytes: number, limit: number): Promise<boolean> {
  try {
    const [grown] = await env.DB.batch([
      env.DB.prepare("UPDATE pending_uploads SET bytes = bytes + ? WHERE id = ?").bind(bytes, id),
      // Counted only while the reservation exists: a grown level always has its row to give it back.
      env.DB.prepare(
        `UPDATE storage_usage SET used = used + ?1, limit_value = ?2
         WHERE account_id = ?3 AND EXISTS (SELECT 1 FROM pending_uploads WHERE id = ?4)`,
      ).bind(bytes, limit, accountId, id),
    ]);
    return (grown?.meta.changes ?? 0) > 0;
  } catch (error) {
    if (isQuotaCheck(error)) throw await quotaExceeded(env, accountId, bytes, limit);
    throw error;
  }
}

/** Gives a reservation's bytes back and forgets it: false when it was already gone (released, or committed). */
export async function release(env: Env, id: string): Promise<boolean> {
  const [, deleted] = await env.DB.batch([
    env.DB.prepare(
      `UPDATE storage_usage SET used = used - (SELECT bytes FROM pending_uploads WHERE id = ?1)
       WHERE account_id = (SELECT account_id FROM pending_uploads WHERE id = ?1)`,
    ).bind(id),
    env.DB.prepare("DELETE FROM pending_uploads WHERE id = ?").bind(id),
  ]);
  return (deleted?.meta.changes ?? 0) > 0;
}

/**
 * Turns a live reservation of exactly the file's size into the file, in one batch with
 * `alongside` (which runs either way, so must do nothing harmful without the file: a task that
 * finds no file). The file as stored: this one, or the same id committed by a request that won
 * a race (a retried `complete`); `409` when the reservation expired or was given back, its
 * object then deleted.
 */
export async function commit(
  env: Env,
  file: typeof files.$inferSelect,
  alongside: BatchStatement[] = [],
): Promise<typeof files.$inferSelect> {
  const [inserted] = await env.DB.batch([
    env.DB.prepare(
      `INSERT INTO files (id, account_id, uploaded_by, purpose, name, content_type, size, sha256, r2_key, created_at, updated_at, expires_at)
       SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?10, ?11 FROM pending_uploads
       WHERE id = ?1 AND bytes = ?7 AND expires_at > ?10`,
    ).bind(
      file.id,
      file.accountId,
      file.uploadedBy,
      file.purpose,
      file.name,
      file.contentType,
      file.size,
      file.sha256,
      file.r2Key,
      file.createdAt,
      file.expiresAt,
    ),
    env.DB.prepare("DELETE FROM pending_uploads WHERE id = ? AND bytes = ? AND expires_at > ?").bind(
      file.id,
      file.size,
      file.createdAt,
    ),
    ...alongside,
  ]);
  if ((inserted?.meta.changes ?? 0) > 0) return file;
  const [stored] = await database(env).select().from(files).where(eq(files.id, file.id));
  if (stored) return stored;
  await env.FILES.delete(file.r2Key);
  throw outlived();
}

/** `409`: an upload slower than its reservation's lifetime (the cron gave its bytes back). */
export const outlived = () => new AppError("conflict", "The upload outlived its storage reservation; send it again.");

/** Deletes a file's row and gives its bytes back, in one batch: false when there was no such file. */
export async function forget(env: Env, id: string): Promise<boolean> {
  const [, deleted] = await env.DB.batch(forgetStatements(env, id));
  return (deleted?.meta.changes ?? 0) > 0;
}

/** The statements that delete a file's row and give its bytes back (nothing when it is gone). */
export function forgetStatements(env: Env, id: string): BatchStatement[] {
  return [
    env.DB.prepare(
      `UPDATE storage_usage SET used = used - (SELECT size FROM files WHERE id = ?1)
       WHERE account_id = (SELECT account_id FROM files WHERE id = ?1)`,
    ).bind(id),
    env.DB.prepare("DELETE FROM files WHERE id = ?").bind(id),
  ];
}

/** The bytes an account stores and has reserved. */
export async function storageUsed(env: Env, accountId: string): Promise<number> {
  const row = await env.DB.prepare("SELECT used FROM storage_usage WHERE account_id = ?")
    .bind(accountId)
    .first<{ used: number }>();
  return row?.used ?? 0;
}

/** Reservations past their expiry, oldest first: what the cron gives back. */
export async function expiredReservations(env: Env, now: number, limit: number) {
  const { results } = await env.DB.prepare(
    "SELECT id, r2_key AS r2Key, r2_upload_id AS r2UploadId FROM pending_uploads WHERE expires_at <= ? ORDER BY expires_at LIMIT ?",
  )
    .bind(now, limit)
    .all<{ id: string; r2Key: string; r2UploadId: string | null }>();
  return results;
}
