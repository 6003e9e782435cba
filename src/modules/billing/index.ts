import type { Module } from "../../platform/module";
import { createRouter } from "../../platform/openapi";
import { settleLaterTask } from "./credits/settle-later";
import { downgradeAfterGrace } from "./dunning/downgrade";
import * as handlers from "./handlers";
import * as routes from "./routes";
import { stripeEventTask } from "./stripe/events";
import { closeWalletTask } from "./wallet/deletion";
import { migrateWalletsTask, startSweep } from "./wallet/sweep";

export const billingModule: Module = {
  name: "billing",
  router: createRouter()
    .openapi(routes.getCredits, handlers.getCredits)
    .openapi(routes.getLedger, handlers.getLedger)
    .openapi(routes.adjustCredits, handlers.adjustCredits)
    .openapi(routes.walletCopies, handlers.walletCopies)
    .openapi(routes.stripeWebhook, handlers.stripeWebhook)
    .openapi(routes.replayStripeEvent, handlers.replayStripeEvent)
    .openapi(routes.openCheckout, handlers.openCheckout)
    .openapi(routes.openPortal, handlers.openPortal)
    .openapi(routes.getSubscription, handlers.getSubscription)
    .openapi(routes.cancelSubscription, handlers.cancelSubscription)
    .openapi(routes.resumeSubscription, handlers.resumeSubscription)
    .openapi(routes.changeSubscription, handlers.changeSubscription)
    .openapi(routes.listInvoices, handlers.listInvoices),
  tasks: [stripeEventTask, settleLaterTask, migrateWalletsTask, closeWalletTask],
  crons: [
    {
      name: "billing.migrate-wallets",
      schedule: "*/5 * * * *",
      run: async (env) => ({ sweep: (await startSweep(env)).status }),
    },
    {
      name: "billing.dunning-downgrade",
      schedule: "*/5 * * * *",
      run: async (env, { now, config, logger }) => ({
        downgraded: await downgradeAfterGrace({ env, config, logger }, now),
      }),
    },
  ],
};
