import { clock, HOUR_MS } from "../../platform/clock";
import type { RequestContext } from "../../platform/context";
import { AppError } from "../../platform/errors";
import { newId } from "../../platform/ids";
import { effectivePlan } from "../plans/api";
import { bodyFailure, Chunks, emptyFile, type Inspected, Inspector, inspectedBody, longerThan } from "./inspect";
import { commit, grow, outlived, release, reserve } from "./quota";
import { expiryOf } from "./retention";
import { contradicts, refusalFor } from "./sniff";
import type { FilePurpose } from "./tables";

/**
 * Single-shot uploads (ARCHITECTURE.md, Uploads): the body streams to R2 once, counted,
 * sniffed and hashed on the way, within storage reserved before a byte is stored. With a
 * `Content-Length`, exactly that much is reserved and the body goes to R2 as a stream of that
 * length; without one, up to a part's worth is buffered, and a longer body becomes an R2
 * multipart upload of fixed parts, each reserved before it is sent. Any failure gives the
 * reservation back and leaves nothing in R2.
 */

/** An R2 multipart upload's part size (every part but the last must be the same size). */
export const PART_BYTES = 8 * 1024 * 1024;
/** A reservation not turned into a file by then is given back by the cron. */
const RESERVATION_MS = HOUR_MS;

export type Upload = {
  name: string;
  purpose: FilePurpose;
  declaredType: string | null;
  /** The declared `Content-Length`, when there is one. */
  length: number | null;
  body: ReadableStream<Uint8Array>;
};

/** Where an account's objects live: keys are built from ids only. */
export const accountPrefix = (accountId: string) => `accounts/${accountId}/`;
export const objectKey = (accountId: string, fileId: string) => `${accountPrefix(accountId)}files/${fileId}`;

/** The most one single-shot upload may be for this account: its plan's limit or the cap on single uploads. */
async function maxUploadOf(ctx: RequestContext) {
  const plan = await effectivePlan(ctx.env, ctx.account.id);
  const cap = ctx.config.FILES_SINGLE_UPLOAD_MAX_BYTES;
  return plan.maxUploadBytes <= cap
    ? { max: plan.maxUploadBytes, limit: "max_upload_bytes", quota: plan.storageQuotaBytes, plan }
    : { max: cap, limit: "FILES_SINGLE_UPLOAD_MAX_BYTES", quota: plan.storageQuotaBytes, plan };
}

function tooLarge(terms: Awaited<ReturnType<typeof maxUploadOf>>): AppError {
  const which =
    terms.limit === "max_upload_bytes"
      ? `the ${terms.plan.id} plan's upload limit`
      : "the limit of a single-request upload";
  return new AppError("payload_too_large", `The file exceeds ${which} of ${terms.max} bytes.`, {
    extensions: { limit: terms.limit, allowed: terms.max },
  });
}

/** Refuses bytes whose type contradicts the declared one or does not suit the purpose (415). */
export const judgeFor = (upload: Pick<Upload, "declaredType" | "purpose">) => (type: string) => {
  if (contradicts(upload.declaredType, type)) {
    throw new AppError("unsupported_media_type", `The bytes are ${type}, not the declared ${upload.declaredType}.`);
  }
  const refusal = refusalFor(upload.purpose, type);
  if (refusal) throw new AppError("unsupported_media_type", refusal);
};

/** Stores an upload as a file of the request's account: its row, once everything went through. */
export async function storeUpload(ctx: RequestContext, upload: Upload) {
  const terms = await maxUploadOf(ctx);
  if (upload.length !== null && upload.length > terms.max) throw tooLarge(terms);
  if (upload.length === 0) {
    throw emptyFile();
  }
  const now = clock.now();
  const id = newId("file", now);
  const reservation = {
    id,
    accountId: ctx.account.id,
    r2Key: objectKey(ctx.account.id, id),
    expiresAt: now + RESERVATION_MS,
    now,
  };
  const store = upload.length !== null ? streamed : buffered;
  const { size, type, sha256 } = await store(ctx.env, upload, reservation, terms);
  const file = {
    id,
    accountId: ctx.account.id,
    uploadedBy: ctx.principal.id,
    purpose: upload.purpose,
    name: upload.name,
    contentType: type,
    size,
    sha256,
    r2Key: reservation.r2Key,
    createdAt: now,
    updatedAt: now,
    attachedKind: null,
    attachedId: null,
    expiresAt: expiryOf(terms.plan, upload.purpose, now),
  };
  return commit(ctx.env, file);
}

type Reservation = Parameters<typeof reserve>[1];
type Terms = Awaited<ReturnType<typeof maxUploadOf>>;

/** With a `Content-Length`: that many bytes reserved, then streamed to R2 as a stream of that length. */
async function streamed(env: Env, upload: Upload, reservation: Reservation, terms: Terms): Promise<Inspected> {
  const length = upload.length as number;
  await reserve(env, reservation, length, terms.quota);
  const inspector = new Inspector({
    max: length,
    tooLarge: longerThan(length),
    judge: judgeFor(upload),
    hash: true,
  });
  return putChecked(env, reservation.r2Key, upload.body, length, inspector, reservation.id);
}

/**
 * Stores a body of exactly `length` bytes at `key`, inspected on the way: what the inspection
 * found, or (the bytes refused, short, long, or R2 failing) no object and the reservation
 * `reservationId` given back.
 */
export async function putChecked(
  env: Env,
  key: string,
  body: ReadableStream<Uint8Array>,
  length: number,
  inspector: Inspector,
  reservationId: string,
): Promise<Inspected> {
  const checked = inspectedBody(body, length, inspector);
  let stored = false;
  try {
    await env.FILES.put(key, checked.stream);
    stored = true;
    const result = checked.result();
    if (checked.failure() !== null || result === null) throw new Error("R2 stored the object before its stream ended");
    return result;
  } catch (error) {
    inspector.abandon();
    if (stored) await env.FILES.delete(key);
    await release(env, reservationId);
    throw bodyFailure(checked, error);
  }
}

/**
 * Without a `Content-Length`: up to a part's worth buffered (stored with one put); past that,
 * an R2 multipart upload of `PART_BYTES` parts, each reserved before it is sent.
 */
async function buffered(env: Env, upload: Upload, reservation: Reservation, terms: Terms): Promise<Inspected> {
  const inspector = new Inspector({
    max: terms.max,
    tooLarge: () => tooLarge(terms),
    judge: judgeFor(upload),
    hash: true,
  });
  const reader = upload.body.getReader();
  const held = new Chunks();
  let multipart: R2MultipartUpload | null = null;
  const parts: R2UploadedPart[] = [];
  let reserved = false;
  const sendPart = async (bytes: Uint8Array) => {
    if (!reserved) {
      // Created before its reservation, which names it: the cron can always abort it.
      multipart = await env.FILES.createMultipartUpload(reservation.r2Key);
      await reserve(env, { ...reservation, r2UploadId: multipart.uploadId }, bytes.byteLength, terms.quota);
      reserved = true;
    } else if (!(await grow(env, reservation.id, reservation.accountId, bytes.byteLength, terms.quota))) {
      throw outlived();
    }
    parts.push(await (multipart as R2MultipartUpload).uploadPart(parts.length + 1, bytes));
  };
  try {
    for (;;) {
      const read = await reader.read();
      if (read.done) break;
      inspector.take(read.value);
      held.add(read.value);
      while (held.size > PART_BYTES) {
        const part = held.take(PART_BYTES);
        await inspector.hash(part);
        await sendPart(part);
      }
    }
    const rest = held.take(held.size);
    await inspector.hash(rest);
    const inspected = await inspector.finish();
    if (multipart === null) {
      await reserve(env, reservation, rest.byteLength, terms.quota);
      reserved = true;
      await env.FILES.put(reservation.r2Key, rest);
    } else {
      if (rest.byteLength > 0) await sendPart(rest);
      await (multipart as R2MultipartUpload).complete(parts);
    }
    return inspected;
  } catch (error) {
    inspector.abandon();
    reader.cancel().catch(() => {});
    await (multipart as R2MultipartUpload | null)?.abort().catch(() => {});
    if (reserved) await release(env, reservation.id);
    throw error;
  }
}
