/**
 * plans' face: what other modules may use of it, and the only file they import. The plan of an
 * account and its limits, the monthly quotas' terms, and the ports through which billing says
 * which plan a subscription gives and what the quotas' counters read.
 */
export { type QuotaMetric, type QuotaUsage, quotaTermsOf, quotaUsagePort, storageLevelPort } from "./quotas";
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
