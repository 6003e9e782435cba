import { asc, eq } from "drizzle-orm";
import { accountCan } from "../../../middleware/tenancy";
import { clock, DAY_MS } from "../../../platform/clock";
import type { RequestContext } from "../../../platform/context";
import { database } from "../../../platform/db";
import { AppError } from "../../../platform/errors";
import { newId } from "../../../platform/ids";
import { bodyFailure, Inspector, inspectedBody, longerThan } from "../inspect";
import { release } from "../quota";
import { type FilePurpose, files, uploadParts, uploadSessions } from "../tables";
import { judgeFor, objectKey } from "../upload";
import { finishSession, openSession, planAllows, type Session, sessionOf } from "./service";

/**
 * Resumable uploads for big files, S3-style: a session with a part size, parts PUT in any order
 * and in parallel (each exactly the part size, the last what is left), then `complete` listing
 * every part. The bytes are reserved whole at the start; R2 holds the parts (a multipart upload);
 * the first part's bytes are sniffed on arrival. The hash is computed once the file exists.
 */

const MiB = 1024 * 1024;
export const MIN_PART_BYTES = 8 * MiB;
export const MAX_PART_BYTES = 95 * MiB;
/** R2's most parts per multipart upload. */
const MAX_PARTS = 10_000;
const LIFETIME_MS = DAY_MS;

type Start = { name: string; size: number; type?: string; purpose: FilePurpose; partSize?: number };

/** The part size asked for, or the least that keeps the part count within R2's. */
function partSizeOf(size: number, asked: number | undefined): number {
  const least = Math.max(MIN_PART_BYTES, Math.ceil(size / MAX_PARTS));
  if (asked === undefined) return least;
  if (asked < least) {
    throw new AppError("validation_failed", `A part of ${asked} bytes would make more than ${MAX_PARTS} parts.`, {
      errors: [{ path: "body.partSize", message: `at least ${least}` }],
    });
  }
  return asked;
}

export function publicSession(session: Session, parts: (typeof uploadParts.$inferSelect)[] = []) {
  return {
    id: session.id,
    fileId: session.fileId,
    name: session.name,
    purpose: session.purpose,
    size: session.size,
    partSize: session.partSize,
    partCount: session.partCount,
    parts: parts.map((part) => ({ number: part.number, size: part.size, etag: part.etag })),
    createdAt: clock.iso(session.createdAt),
    expiresAt: clock.iso(session.expiresAt),
  };
}

export async function startResumable(ctx: RequestContext, start: Start) {
  const plan = await planAllows(ctx, start.size);
  const partSize = partSizeOf(start.size, start.partSize);
  const fileId = newId("file");
  const multipart = await ctx.env.FILES.createMultipartUpload(objectKey(ctx.account.id, fileId));
  try {
    const session = await openSession(
      ctx,
      {
        kind: "resumable",
        fileId,
        r2UploadId: multipart.uploadId,
        lifetimeMs: LIFETIME_MS,
        partSize,
        name: start.name,
        purpose: start.purpose,
        size: start.size,
        declaredType: start.type ?? null,
      },
      plan.storageQuotaBytes,
    );
    return publicSession(session);
  } catch (error) {
    await multipart.abort().catch(() => {});
    throw error;
  }
}

/**
 * A live resumable upload of the request's account that the caller may carry on: whoever
 * started it, or an owner or admin of its org (403 for other members, as for files).
 */
async function resumableSession(ctx: RequestContext, id: string): Promise<Session> {
  const session = await sessionOf(ctx.env, ctx.account.id, id, "resumable");
  if (session.createdBy !== ctx.principal.id && !accountCan(ctx.account, "files:manage")) {
    throw new AppError(
      "forbidden",
      "Only whoever started this upload, or an owner or admin of its organization, may carry it on.",
    );
  }
  return session;
}

async function partsOf(env: Env, sessionId: string) {
  return database(env)
    .select()
    .from(uploadParts)
    .where(eq(uploadParts.sessionId, sessionId))
    .orderBy(asc(uploadParts.number));
}

export async function resumableOf(ctx: RequestContext, id: string) {
  const session = await resumableSession(ctx, id);
  return publicSession(session, await partsOf(ctx.env, id));
}

const r2UploadIdOf = async (env: Env, session: Session) => {
  const row = await env.DB.prepare("SELECT r2_upload_id AS id FROM pending_uploads WHERE id = ?")
    .bind(session.fileId)
    .first<{ id: string | null }>();
  if (!row?.id) throw new AppError("not_found", "No such upload, or it has expired.");
  return row.id;
};

/** Stores part `number` (exactly its size: the part size, or what is left for the last). */
export async function putPart(
  ctx: RequestContext,
  id: string,
  number: number,
  body: { length: number | null; stream: ReadableStream<Uint8Array> },
) {
  const session = await resumableSession(ctx, id);
  if (number < 1 || number > session.partCount) {
    throw new AppError("validation_failed", `This upload has parts 1 to ${session.partCount}.`, {
      errors: [{ path: "params.number", message: `1 to ${session.partCount}` }],
    });
  }
  const expected =
    number < session.partCount ? session.partSize : session.size - (session.partCount - 1) * session.partSize;
  if (body.length !== expected) {
    throw new AppError(
      "validation_failed",
      `Part ${number} must be exactly ${expected} bytes, with that Content-Length.`,
      {
        errors: [{ path: "header.content-length", message: `${expected}` }],
      },
    );
  }
  const first = number === 1;
  const inspector = new Inspector({
    max: expected,
    tooLarge: longerThan(expected),
    // The first part's bytes say what the file is; the others' say nothing.
    ...(first ? { judge: judgeFor(session) } : {}),
    hash: false,
  });
  const checked = inspectedBody(body.stream, expected, inspector);
  const multipart = ctx.env.FILES.resumeMultipartUpload(
    objectKey(session.accountId, session.fileId),
    await r2UploadIdOf(ctx.env, session),
  );
  let part: R2UploadedPart;
  try {
    part = await multipart.uploadPart(number, checked.stream);
  } catch (error) {
    throw bodyFailure(checked, error);
  }
  const found = checked.result();
  const db = database(ctx.env);
  const row = { sessionId: id, number, etag: part.etag, size: expected, createdAt: clock.now() };
  await db.batch([
    db
      .insert(uploadParts)
      .values(row)
      .onConflictDoUpdate({
        target: [uploadParts.sessionId, uploadParts.number],
        set: { etag: row.etag, createdAt: row.createdAt },
      }),
    ...(first && found
      ? [db.update(uploadSessions).set({ sniffedType: found.type }).where(eq(uploadSessions.id, id))]
      : []),
  ]);
  return { number, size: expected, etag: part.etag };
}

/** Joins the parts into the file: every part listed once, as R2 answered it. */
export async function completeResumable(ctx: RequestContext, id: string, listed: { number: number; etag: string }[]) {
  const session = await resumableSession(ctx, id);
  const stored = new Map((await partsOf(ctx.env, id)).map((part) => [part.number, part.etag]));
  const problems: { path: string; message: string }[] = [];
  const seen = new Set<number>();
  for (const [index, part] of listed.entries()) {
    if (seen.has(part.number)) problems.push({ path: `body.parts.${index}.number`, message: "listed twice" });
    seen.add(part.number);
    if (stored.get(part.number) !== part.etag) {
      problems.push({ path: `body.parts.${index}`, message: `part ${part.number} was not stored with this etag` });
    }
  }
  for (let number = 1; number <= session.partCount; number++) {
    if (!seen.has(number)) problems.push({ path: "body.parts", message: `part ${number} is missing` });
  }
  if (problems.length > 0) {
    throw new AppError("validation_failed", `Complete lists every part 1 to ${session.partCount} once, as stored.`, {
      errors: problems.slice(0, 20),
    });
  }
  if (session.sniffedType === null) throw new AppError("conflict", "The first part has not been stored.");
  const multipart = ctx.env.FILES.resumeMultipartUpload(
    objectKey(session.accountId, session.fileId),
    await r2UploadIdOf(ctx.env, session),
  );
  try {
    await multipart.complete(
      [...listed].sort((a, b) => a.number - b.number).map(({ number, etag }) => ({ partNumber: number, etag })),
    );
  } catch (error) {
    // A retried complete that lost the race to its first try: R2 has no upload left, the file is there.
    const [done] = await database(ctx.env).select().from(files).where(eq(files.id, session.fileId));
    if (done) return done;
    throw error;
  }
  return finishSession(ctx.env, session, { type: session.sniffedType, sha256: null });
}

/** Abandons the upload: R2's parts dropped, the reservation (and the session with it) given back. */
export async function abortResumable(ctx: RequestContext, id: string): Promise<void> {
  const session = await resumableSession(ctx, id);
  const uploadId = await r2UploadIdOf(ctx.env, session);
  await ctx.env.FILES.resumeMultipartUpload(objectKey(session.accountId, session.fileId), uploadId)
    .abort()
    .catch(() => {});
  await release(ctx.env, session.fileId);
}
