import { createRouter } from "../../platform/openapi";
import { registerOrgDeletionGuard } from "../identity/service";
import { registerSubscriptionPlanResolver } from "../plans/service";
import * as handlers from "./handlers";
import * as routes from "./routes";
import { liveSubscriptionKeepsOrg, subscribedPlan } from "./subscriptions";

registerSubscriptionPlanResolver(subscribedPlan);
registerOrgDeletionGuard(liveSubscriptionKeepsOrg);

export const billingRouter = createRouter()
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
  .openapi(routes.listInvoices, handlers.listInvoices);
