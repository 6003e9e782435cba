import { z } from "@hono/zod-openapi";
import type { BatchStatement } from "../../platform/db";
import { defineTask, enqueue } from "../../platform/queue/tasks";
import { accountPrefix } from "./upload";

/**
 * What a deleted org takes along from files. In the deletion's batch: its file rows (and their
 * links), its storage level, and its reservations marked expired (the cron then aborts their
 * multipart uploads). After it: its R2 prefix, deleted by a queue task in pages of R2's 1 000
 * keys, a bounded number per delivery, continuing in a next task until the prefix is empty.
 */

export function deleteAccountFileRows(env: Env, accountId: string): BatchStatement[] {
  return [
    // Expired, no upload under way can commit any more; the cron aborts their multipart uploads.
    env.DB.prepare("DELETE FROM upload_sessions WHERE account_id = ?").bind(accountId),
    env.DB.prepare("UPDATE pending_uploads SET expires_at = 0 WHERE account_id = ?").bind(accountId),
    env.DB.prepare("DELETE FROM files WHERE account_id = ?").bind(accountId),
    env.DB.prepare("DELETE FROM storage_usage WHERE account_id = ?").bind(accountId),
  ];
}

const PAGES_PER_DELIVERY = 10;

export const purgeAccountFilesTask = defineTask({
  kind: "files.purge-account",
  payload: z.object({ accountId: z.string().min(1), round: z.number().int().min(0) }),
  async handle({ accountId, round }, { env }) {
    const prefix = accountPrefix(accountId);
    for (let page = 0; page < PAGES_PER_DELIVERY; page++) {
      const listed = await env.FILES.list({ prefix, limit: 1000 });
      if (listed.objects.length === 0) return;
      await env.FILES.delete(listed.objects.map((object) => object.key));
    }
    const next = { accountId, round: round + 1 };
    await enqueue(env, purgeAccountFilesTask, next, { reference: `files.purge:${accountId}:${next.round}` });
  },
});

/** Once the org is gone: its objects, deleted in the background. */
export async function purgeAccountFiles(env: Env, accountId: string): Promise<void> {
  await enqueue(env, purgeAccountFilesTask, { accountId, round: 0 }, { reference: `files.purge:${accountId}:0` });
}
