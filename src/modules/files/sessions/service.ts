import { and, eq } from "drizzle-orm";
import { clock } from "../../../platform/clock";
import type { RequestContext } from "../../../platform/context";
import { asStatement, database } from "../../../platform/db";
import { AppError } from "../../../platform/errors";
import { newId } from "../../../platform/ids";
import { enqueue, taskStatement } from "../../../platform/queue/tasks";
import { effectivePlan } from "../../plans/api";
import { commit, reserve } from "../quota";
import { expiryOf } from "../retention";
import type { FileRow } from "../service";
import type { FilePurpose } from "../tables";
import { uploadSessions } from "../tables";
import { hashFileTask } from "../tasks";
import { objectKey } from "../upload";

/**
 * What resumable uploads and signed upload URLs share: a session that names the file to be
 * (name, purpose, declared type, size), holds a reservation of all its bytes from its start and
 * dies with it, and ends in the file's row.
 */

export type Session = typeof uploadSessions.$inferSelect;

export type SessionRequest = {
  kind: Session["kind"];
  name: string;
  purpose: FilePurpose;
  declaredType: string | null;
  size: number;
  partSize: number;
  lifetimeMs: number;
  /** Chosen by the caller: a multipart upload's object key is named after it before the session exists. */
  fileId: string;
  r2UploadId?: string;
};

/** `413` past the plan's upload limit (the single-request cap does not apply to these). */
export async function planAllows(ctx: RequestContext, size: number) {
  const plan = await effectivePlan(ctx.env, ctx.account.id);
  if (size > plan.maxUploadBytes) {
    throw new AppError(
      "payload_too_large",
      `The file exceeds the ${plan.id} plan's upload limit of ${plan.maxUploadBytes} bytes.`,
      {
        extensions: { limit: "max_upload_bytes", allowed: plan.maxUploadBytes },
      },
    );
  }
  return plan;
}

/** Reserves the whole size and records the session: `403 storage_quota_exceeded` when it does not fit. */
export async function openSession(ctx: RequestContext, request: SessionRequest, quota: number): Promise<Session> {
  const now = clock.now();
  const fileId = request.fileId;
  const r2Key = objectKey(ctx.account.id, fileId);
  const expiresAt = now + request.lifetimeMs;
  const session: Session = {
    id: newId("upl", now),
    kind: request.kind,
    fileId,
    accountId: ctx.account.id,
    createdBy: ctx.principal.id,
    name: request.name,
    purpose: request.purpose,
    declaredType: request.declaredType,
    size: request.size,
    partSize: request.partSize,
    partCount: Math.ceil(request.size / request.partSize),
    sniffedType: null,
    claimedAt: null,
    createdAt: now,
    expiresAt,
  };
  const reservation = { id: fileId, accountId: ctx.account.id, r2Key, expiresAt, now, r2UploadId: request.r2UploadId };
  const row = asStatement(ctx.env, database(ctx.env).insert(uploadSessions).values(session));
  await reserve(ctx.env, reservation, request.size, quota, [row]);
  return session;
}

/** A live session of the request's account, of `kind` (404 otherwise, expired ones too). */
export async function sessionOf(
  env: Env,
  accountId: string | null,
  id: string,
  kind: Session["kind"],
): Promise<Session> {
  const conditions = [eq(uploadSessions.id, id), eq(uploadSessions.kind, kind)];
  if (accountId !== null) conditions.push(eq(uploadSessions.accountId, accountId));
  const [session] = await database(env)
    .select()
    .from(uploadSessions)
    .where(and(...conditions));
  if (!session || session.expiresAt <= clock.now())
    throw new AppError("not_found", "No such upload, or it has expired.");
  return session;
}

/**
 * The session's file, once its bytes are in R2: its row in the batch that ends the reservation
 * (and with it the session); a hash still unknown is computed by a queue task.
 */
export async function finishSession(
  env: Env,
  session: Session,
  found: { type: string; sha256: string | null },
): Promise<FileRow> {
  const now = clock.now();
  const file: FileRow = {
    id: session.fileId,
    accountId: session.accountId,
    uploadedBy: session.createdBy,
    purpose: session.purpose,
    name: session.name,
    contentType: found.type,
    size: session.size,
    sha256: found.sha256,
    r2Key: objectKey(session.accountId, session.fileId),
    createdAt: now,
    updatedAt: now,
    attachedKind: null,
    attachedId: null,
    expiresAt: expiryOf(await effectivePlan(env, session.accountId), session.purpose, now),
  };
  const hashing = { reference: `files.hash:${file.id}` };
  const alongside = file.sha256 === null ? [taskStatement(env, hashFileTask, { fileId: file.id }, hashing)] : [];
  const stored = await commit(env, file, alongside);
  if (stored.sha256 === null) await enqueue(env, hashFileTask, { fileId: file.id }, hashing);
  return stored;
}
