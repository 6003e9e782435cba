import { z } from "@hono/zod-openapi";
import { defineTask } from "../../../platform/queue/tasks";
import { askWallet } from "../wallet/client";
import type { SettleAnswer } from "../wallet/protocol";

/**
 * A settlement the wallet could not take when the work ended (its retries spent): recorded as a
 * queue task keyed by the hold's reference and retried until the wallet takes it. The wallet's
 * settle is idempotent (a settlement that went through after all answers the same), and one
 * that comes after the hold expired is charged late, so a failure to settle never makes work free.
 */
export const settleLaterTask = defineTask({
  kind: "billing.settle-later",
  payload: z
    .object({
      accountId: z.string(),
      reference: z.string(),
      /** Whole millicredits (a hold to settle), or null when the work held nothing. */
      actual: z.number().int().min(0).nullable(),
      records: z.array(z.object({ sink: z.string(), id: z.string(), body: z.record(z.string(), z.unknown()) })),
      keepCount: z.boolean(),
      counted: z.boolean(),
    })
    .strict(),
  async handle(settlement, { env }) {
    const { accountId, reference, actual, records, keepCount, counted } = settlement;
    if (actual !== null) {
      const answer = await askWallet<SettleAnswer>(env, accountId, (wallet) =>
        wallet.settle({ accountId, reference, actual, records, keepCount }),
      );
      if (!answer.ok) throw new Error(`settlement of ${reference} refused: ${answer.detail}`);
      return;
    }
    if (counted && !keepCount) await askWallet(env, accountId, (wallet) => wallet.uncount(accountId, reference));
    if (records.length > 0) await askWallet(env, accountId, (wallet) => wallet.record(accountId, records));
  },
});
