/**
 * plans' face: what other modules may use of it, and the only file they import. The plan of an
 * account and its limits, the monthly quotas, and the port through which billing says which
 * plan a subscription gives.
 */
export { consume, refund } from "./quotas";
export { requestLimitsOf } from "./request-limits";
export {
  effectivePlan,
  forgetEffectivePlan,
  planById,
  planLimitError,
  planLimitOf,
  type SubscriptionPlanResolver,
  subscriptionPlanPort,
} from "./service";
