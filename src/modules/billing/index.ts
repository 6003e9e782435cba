import type { Module } from "../../platform/module";
import { createRouter } from "../../platform/openapi";
import { expireEndedGrants, grantMonthlyToUnsubscribed, grantYearlyMonths } from "./credits/included";
import { releaseExpiredHolds } from "./credits/ledger";
import { downgradeAfterGrace } from "./dunning/downgrade";
import * as handlers from "./handlers";
import * as routes from "./routes";
import { stripeEventTask } from "./stripe/events";

export const billingModule: Module = {
  name: "billing",
  router: createRouter()
    .openapi(routes.getCredits, handlers.getCredits)
    .openapi(routes.getLedger, handlers.getLedger)
    .openapi(routes.adjustCredits, handlers.adjustCredits)
    .openapi(routes.stripeWebhook, handlers.stripeWebhook)
    .openapi(routes.replayStripeEvent, handlers.replayStripeEvent)
    .openapi(routes.openCheckout, handlers.openCheckout)
    .openapi(routes.openPortal, handlers.openPortal)
    .openapi(routes.getSubscription, handlers.getSubscription)
    .openapi(routes.cancelSubscription, handlers.cancelSubscription)
    .openapi(routes.resumeSubscription, handlers.resumeSubscription)
    .openapi(routes.changeSubscription, handlers.changeSubscription)
    .openapi(routes.listInvoices, handlers.listInvoices),
  tasks: [stripeEventTask],
  crons: [
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
      run: async (env, { now, config, logger }) => ({
        downgraded: await downgradeAfterGrace({ env, config, logger }, now),
      }),
    },
  ],
};
