import { authenticatorPort } from "./middleware/auth";
import { limitPolicyPort } from "./middleware/rate-limit";
import { aiModule } from "./modules/ai";
import { USAGE_SINK as AI_USAGE_SINK, usageSink as aiUsageSink, deleteOrgRows } from "./modules/ai/api";
import { billingModule } from "./modules/billing";
import {
  closeDeletedWallet,
  consumeWalletCopies,
  liveSubscriptionKeepsOrg,
  markWalletDeleted,
  quotaUsageOf,
  subscribedPlan,
  walletKeepsOrg,
  walletRecordSinksPort,
} from "./modules/billing/api";
import { emailModule } from "./modules/email";
import { filesModule } from "./modules/files";
import { deleteAccountFileRows, fileReadersPort, purgeAccountFiles, storageUsed } from "./modules/files/api";
import { healthModule } from "./modules/health";
import { identityModule } from "./modules/identity";
import { authenticator, orgDeletionCleanups, orgDeletionFollowUps, orgDeletionGuards } from "./modules/identity/api";
import { plansModule } from "./modules/plans";
import { quotaUsagePort, requestLimitsOf, storageLevelPort, subscriptionPlanPort } from "./modules/plans/api";
import { translateModule } from "./modules/translate";
import { USAGE_SINK as TRANSLATION_USAGE_SINK, usageSink as translationUsageSink } from "./modules/translate/api";
import type { CronTask } from "./platform/cron";
import { purgeExpiredIdempotencyKeys } from "./platform/idempotency/middleware";
import type { Module } from "./platform/module";
import { taskRegistry } from "./platform/queue/consumer";
import { purgeProcessedTasks, requeueStuckTasks } from "./platform/queue/maintenance";
import { purgeOldRefusals } from "./platform/rate-limit/refusals";

/**
 * The composition root: every module, and everything one module needs of another, wired here
 * and nowhere else. A module's router, queue tasks and crons come from its `index.ts`; what it
 * offers other modules, and the ports through which it takes theirs, from its `api.ts`. Nothing
 * registers on import: a port left unwired throws at first use.
 */

/** In mounting order (routers are mounted at `/`; the order matters only for equal paths). */
export const modules: readonly Module[] = [
  healthModule,
  identityModule,
  emailModule,
  plansModule,
  billingModule,
  aiModule,
  translateModule,
  filesModule,
];

/** What each module needs of another, given explicitly. Idempotent: the entry calls it once per isolate. */
export function wireModules(): void {
  // Authentication and tenancy are the platform's; what a credential stands for, and who belongs to an org, identity's.
  authenticatorPort.wire(authenticator);
  // Which plan an account's live subscription gives: billing knows, plans asks.
  subscriptionPlanPort.wire(subscribedPlan);
  // Deleting an org: billing refuses while a subscription is live or its wallet holds purchased
  // credits (forcible); ai and files delete their rows along (files its objects after, by a queue
  // task); billing marks the wallet deleted, then deletes it.
  orgDeletionGuards.wire([liveSubscriptionKeepsOrg, walletKeepsOrg]);
  orgDeletionCleanups.wire([deleteOrgRows, markWalletDeleted, deleteAccountFileRows]);
  orgDeletionFollowUps.wire([closeDeletedWallet, purgeAccountFiles]);
  // Request limits are the plan's: the platform's limiter may not import a module.
  limitPolicyPort.wire(requestLimitsOf);
  // Quotas are the plan's; their exact counters live in billing's wallets.
  quotaUsagePort.wire(quotaUsageOf);
  // Except the storage level, which files keeps exactly beside its rows.
  storageLevelPort.wire(storageUsed);
  // Who may read a file attached to another module's resource: that module's reader for its kind
  // (none yet: learning's submissions and certificates, documents' generations will add theirs).
  fileReadersPort.wire({});
  // Usage rows are ai's and translate's: they travel with settlements through the wallets to these sinks.
  walletRecordSinksPort.wire({ [AI_USAGE_SINK]: aiUsageSink, [TRANSLATION_USAGE_SINK]: translationUsageSink });
}

/** Consumers of queues other than JOBS, by queue name (wrangler.toml). */
export const queueConsumers: Readonly<Record<string, typeof consumeWalletCopies>> = {
  "stratus-wallet-copy": consumeWalletCopies,
};

/** Every queue task handler, by kind. */
export const queueTasks = taskRegistry(modules.flatMap((module) => module.tasks ?? []));

/** Housekeeping of the platform itself: the queue outbox, idempotency keys, limiter refusals. */
const platformCrons: readonly CronTask[] = [
  {
    name: "queue.requeue-stuck",
    schedule: "*/5 * * * *",
    run: (env, { now, config, logger }) => requeueStuckTasks({ env, config, logger }, now, queueTasks),
  },
  { name: "queue.purge-processed", schedule: "*/5 * * * *", run: (env, { now }) => purgeProcessedTasks(env, now) },
  {
    name: "idempotency.purge-expired",
    schedule: "*/5 * * * *",
    run: async (env, { now }) => ({ deleted: await purgeExpiredIdempotencyKeys(env, now) }),
  },
  {
    name: "rate-limit.purge-refusals",
    schedule: "*/5 * * * *",
    run: async (env, { now }) => ({ deleted: await purgeOldRefusals(env, now) }),
  },
];

/** Every cron task. Each schedule must also be listed in wrangler.toml's `[triggers] crons`. */
export const cronTasks: readonly CronTask[] = [...platformCrons, ...modules.flatMap((module) => module.crons ?? [])];
