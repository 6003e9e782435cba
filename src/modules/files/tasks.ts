import { z } from "@hono/zod-openapi";
import type { CronTask } from "../../platform/cron";
import { streamSha256Hex } from "../../platform/crypto";
import { describeError, type Logger } from "../../platform/logger";
import { defineTask } from "../../platform/queue/tasks";
import { purgeExpiredLinks } from "./links";
import { expiredReservations, release } from "./quota";
import { deleteExpiredFiles } from "./retention";

/**
 * Rows each cron run handles at most: about 45 subrequests for the files crons together, with
 * every 5-minute cron in one invocation (Workers Paid allows 1 000; the rest waits for the next run).
 */
const PAGE = 10;

/**
 * A client that vanished mid-upload leaves its reservation behind (its Worker is cancelled
 * before any `finally`): once expired, its bytes are given back, its R2 multipart upload
 * aborted and any object deleted. Released first: an upload that commits its reservation
 * between the read and the release keeps its file and its object (a commit needs the row,
 * so once it is released no file can take the object).
 */
async function releaseAbandonedUploads(env: Env, now: number, logger: Logger): Promise<number> {
  const abandoned = await expiredReservations(env, now, PAGE);
  let released = 0;
  for (const reservation of abandoned) {
    // One that fails is logged and tried again next run; it does not hold the others back.
    try {
      if (!(await release(env, reservation.id))) continue;
      released++;
      if (reservation.r2UploadId) {
        await env.FILES.resumeMultipartUpload(reservation.r2Key, reservation.r2UploadId)
          .abort()
          .catch(() => {});
      }
      await env.FILES.delete(reservation.r2Key);
    } catch (error) {
      logger.error("an abandoned upload could not be released", {
        reservation: reservation.id,
        ...describeError(error),
      });
    }
  }
  return released;
}

export const filesCrons: readonly CronTask[] = [
  {
    name: "files.release-abandoned-uploads",
    schedule: "*/5 * * * *",
    run: async (env, { now, logger }) => ({ released: await releaseAbandonedUploads(env, now, logger) }),
  },
  {
    name: "files.delete-expired",
    schedule: "*/5 * * * *",
    run: async (env, { now }) => ({ deleted: await deleteExpiredFiles(env, now, PAGE) }),
  },
  {
    name: "files.purge-expired-links",
    schedule: "*/5 * * * *",
    run: async (env, { now }) => ({ purged: await purgeExpiredLinks(env, now, 500) }),
  },
];

/**
 * The SHA-256 of a file stored from parts (a resumable upload, hashed part by part by no one):
 * its object read once, after the upload is complete. Idempotent: a file hashed already, or
 * gone, is left as it is.
 */
export const hashFileTask = defineTask({
  kind: "files.hash",
  payload: z.object({ fileId: z.string().min(1) }),
  async handle({ fileId }, { env }) {
    const file = await env.DB.prepare("SELECT r2_key AS r2Key FROM files WHERE id = ? AND sha256 IS NULL")
      .bind(fileId)
      .first<{ r2Key: string }>();
    if (!file) return;
    const object = await env.FILES.get(file.r2Key);
    if (!object) return;
    const hex = await streamSha256Hex(object.body);
    await env.DB.prepare("UPDATE files SET sha256 = ? WHERE id = ? AND sha256 IS NULL").bind(hex, fileId).run();
  },
});
