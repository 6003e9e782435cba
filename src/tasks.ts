import { purgeOldMessages } from "./modules/ai/conversations/service";
import { purgeOldUsage } from "./modules/ai/usage";
import { stripeEventTask } from "./modules/billing/consumers";
import { downgradeAfterGrace } from "./modules/billing/dunning";
import { expireEndedGrants, grantMonthlyToUnsubscribed, grantYearlyMonths } from "./modules/billing/included-credits";
import { releaseExpiredHolds } from "./modules/billing/ledger";
import { deliverEmailTask } from "./modules/email/consumers";
import { purgeOldOutbox } from "./modules/email/service";
import { heartbeatTask, sendHeartbeat } from "./modules/health/consumers";
import { purgeExpiredIdentityRows } from "./modules/identity/retention";
import type { CronTask } from "./platform/cron";
import { purgeExpiredIdempotencyKeys } from "./platform/idempotency/middleware";
import { taskRegistry } from "./platform/queue/consumer";
import { purgeProcessedTasks, requeueStuckTasks } from "./platform/queue/maintenance";
import { purgeOldRefusals } from "./platform/rate-limit/refusals";

/** Every queue task handler, by kind. Modules add theirs here. */
export const queueTasks = taskRegistry([heartbeatTask, deliverEmailTask, stripeEventTask]);

/** Every cron task. Each schedule must also be listed in wrangler.toml's `[triggers] crons`. */
export const cronTasks: readonly CronTask[] = [
  sendHeartbeat,
  {
    name: "queue.requeue-stuck",
    schedule: "*/5 * * * *",
    run: (env, { now, logger }) => requeueStuckTasks(env, now, queueTasks, logger),
  },
  { name: "queue.purge-processed", schedule: "*/5 * * * *", run: (env, { now }) => purgeProcessedTasks(env, now) },
  {
    name: "idempotency.purge-expired",
    schedule: "*/5 * * * *",
    run: async (env, { now }) => ({ deleted: await purgeExpiredIdempotencyKeys(env, now) }),
  },
  {
    name: "credits.release-expired-holds",
    schedule: "*/5 * * * *",
    run: async (env, { now }) => ({ released: await releaseExpiredHolds(env, now) }),
  },
  {
    name: "billing.included-credits",
    schedule: "*/5 * * * *",
    // Expiry first: a grant made in this run is never expired by it.
    run: async (env, { now }) => ({
      expired: await expireEndedGrants(env, now),
      yearly: await grantYearlyMonths(env, now),
      unsubscribed: await grantMonthlyToUnsubscribed(env, now),
    }),
  },
  {
    name: "billing.dunning-downgrade",
    schedule: "*/5 * * * *",
    run: async (env, { now, logger }) => ({ downgraded: await downgradeAfterGrace(env, now, logger) }),
  },
  {
    name: "ai.purge-usage",
    schedule: "*/5 * * * *",
    run: async (env, { now }) => ({ deleted: await purgeOldUsage(env, now) }),
  },
  {
    name: "rate-limit.purge-refusals",
    schedule: "*/5 * * * *",
    run: async (env, { now }) => ({ deleted: await purgeOldRefusals(env, now) }),
  },
  {
    name: "identity.purge-expired",
    schedule: "*/5 * * * *",
    run: (env, { now }) => purgeExpiredIdentityRows(env, now),
  },
  {
    name: "email.purge-outbox",
    schedule: "*/5 * * * *",
    run: async (env, { now }) => ({ deleted: await purgeOldOutbox(env, now) }),
  },
  {
    name: "ai.purge-messages",
    schedule: "*/5 * * * *",
    run: async (env, { now }) => ({ deleted: await purgeOldMessages(env, now) }),
  },
];
