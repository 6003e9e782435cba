import type { CronTask } from "../../platform/cron";
import { purgeExpiredLinks } from "./links";
import { expiredReservations, release } from "./quota";

/** Rows each cron run handles at most: a run stays within a Worker's subrequest limits. */
const PAGE = 40;

/**
 * A client that vanished mid-upload leaves its reservation behind (its Worker is cancelled
 * before any `finally`): once expired, its R2 multipart upload is aborted, any object deleted,
 * and its bytes given back.
 */
async function releaseAbandonedUploads(env: Env, now: number): Promise<number> {
  const abandoned = await expiredReservations(env, now, PAGE);
  for (const reservation of abandoned) {
    if (reservation.r2UploadId) {
      await env.FILES.resumeMultipartUpload(reservation.r2Key, reservation.r2UploadId)
        .abort()
        .catch(() => {});
    }
    await env.FILES.delete(reservation.r2Key);
    await release(env, reservation.id);
  }
  return abandoned.length;
}

export const filesCrons: readonly CronTask[] = [
  {
    name: "files.release-abandoned-uploads",
    schedule: "*/5 * * * *",
    run: async (env, { now }) => ({ released: await releaseAbandonedUploads(env, now) }),
  },
  {
    name: "files.purge-expired-links",
    schedule: "*/5 * * * *",
    run: async (env, { now }) => ({ purged: await purgeExpiredLinks(env, now, 500) }),
  },
];
