import { createRouter } from "../../platform/openapi";
import * as handlers from "./handlers";
import * as routes from "./routes";

export const billingRouter = createRouter()
  .openapi(routes.getCredits, handlers.getCredits)
  .openapi(routes.getLedger, handlers.getLedger)
  .openapi(routes.adjustCredits, handlers.adjustCredits)
  .openapi(routes.stripeWebhook, handlers.stripeWebhook)
  .openapi(routes.replayStripeEvent, handlers.replayStripeEvent);
