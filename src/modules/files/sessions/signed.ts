import { and, eq, isNull } from "drizzle-orm";
import { clock, MINUTE_MS } from "../../../platform/clock";
import type { RequestContext } from "../../../platform/context";
import { database } from "../../../platform/db";
import { AppError } from "../../../platform/errors";
import { newId } from "../../../platform/ids";
import { Inspector, longerThan } from "../inspect";
import { signingKeysOf, signMessage, verifyMessage } from "../signing";
import { type FilePurpose, uploadSessions } from "../tables";
import { judgeFor, objectKey, putChecked } from "../upload";
import { finishSession, openSession, planAllows, type Session, sessionOf } from "./service";

/**
 * Signed upload URLs: a URL that lets whoever holds it (a browser uploading straight to Stratus,
 * without the account's token) PUT one file of the size and type it was issued for, once, before
 * it expires. Its bytes are reserved when it is issued; on arrival the reservation must still be
 * there, the length and type must be the signed ones, and the bytes must be what the type says.
 */

export const MAX_UPLOAD_URL_SECONDS = 60 * 60;

type Issue = { name: string; size: number; type: string; purpose: FilePurpose; expiresIn: number };

const message = (session: Pick<Session, "id" | "size" | "declaredType">, expires: number) =>
  `PUT\n${session.id}\n${session.size}\n${session.declaredType}\n${expires}`;

export async function issueUploadUrl(ctx: RequestContext, origin: string, issue: Issue) {
  const keys = signingKeysOf(ctx.config);
  const plan = await planAllows(ctx, issue.size);
  if (issue.size > ctx.config.FILES_SINGLE_UPLOAD_MAX_BYTES) {
    throw new AppError(
      "payload_too_large",
      `A signed upload is one request, at most ${ctx.config.FILES_SINGLE_UPLOAD_MAX_BYTES} bytes: use a resumable upload.`,
      { extensions: { limit: "FILES_SINGLE_UPLOAD_MAX_BYTES", allowed: ctx.config.FILES_SINGLE_UPLOAD_MAX_BYTES } },
    );
  }
  const session = await openSession(
    ctx,
    {
      kind: "signed",
      fileId: newId("file"),
      name: issue.name,
      purpose: issue.purpose,
      declaredType: issue.type,
      size: issue.size,
      partSize: issue.size,
      // The reservation outlives the URL by a little: a PUT begun just before expiry may finish.
      lifetimeMs: issue.expiresIn * 1000 + 10 * MINUTE_MS,
    },
    plan.storageQuotaBytes,
  );
  const expires = Math.floor(clock.now() / 1000) + issue.expiresIn;
  const { kid, signature } = await signMessage(keys, message(session, expires));
  const query = new URLSearchParams({ expires: String(expires), kid, signature });
  return {
    id: session.id,
    fileId: session.fileId,
    method: "PUT" as const,
    url: `${origin}/v1/files/upload-urls/${session.id}?${query}`,
    headers: { "Content-Type": issue.type, "Content-Length": String(issue.size) },
    expiresAt: clock.iso(expires * 1000),
  };
}

/** The PUT of a signed URL: the file, or 404 for a URL that is not (or no longer) good. */
export async function putSigned(
  env: Env,
  config: RequestContext["config"],
  id: string,
  proof: { expires: number; kid: string; signature: string },
  body: { length: number | null; type: string | null; stream: ReadableStream<Uint8Array> },
) {
  const gone = new AppError("not_found", "This upload URL does not exist, was used, or has expired.");
  if (proof.expires * 1000 <= clock.now()) throw gone;
  const session = await sessionOf(env, null, id, "signed").catch(() => {
    throw gone;
  });
  if (!(await verifyMessage(signingKeysOf(config), proof.kid, proof.signature, message(session, proof.expires))))
    throw gone;
  if (body.length !== session.size || body.type?.split(";")[0]?.trim().toLowerCase() !== session.declaredType) {
    throw new AppError(
      "validation_failed",
      `This URL takes one body of ${session.size} bytes (with that Content-Length) and Content-Type ${session.declaredType}.`,
    );
  }
  // One PUT per URL: a second one, even while the first is under way, finds it taken.
  const claimed = await database(env)
    .update(uploadSessions)
    .set({ claimedAt: clock.now() })
    .where(and(eq(uploadSessions.id, id), isNull(uploadSessions.claimedAt)))
    .returning({ id: uploadSessions.id });
  if (claimed.length === 0) throw gone;
  const key = objectKey(session.accountId, session.fileId);
  const inspector = new Inspector({
    max: session.size,
    tooLarge: longerThan(session.size),
    judge: judgeFor(session),
    hash: true,
  });
  const found = await putChecked(env, key, body.stream, session.size, inspector, session.fileId);
  return finishSession(env, session, found);
}
