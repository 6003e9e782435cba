import type { LimitPolicy } from "../../middleware/rate-limit";
import { defaultPlan, effectivePlan } from "./service";

/** The request limits of an account's effective plan; anonymous callers get the default plan's. */
export const requestLimitsOf: LimitPolicy = async (env, account) => {
  const plan = account ? await effectivePlan(env, account.id) : await defaultPlan(env);
  return {
    perMinute: {
      default: plan.requestsPerMinute,
      auth: plan.authRequestsPerMinute,
      ai: plan.aiRequestsPerMinute,
      upload: plan.uploadRequestsPerMinute,
    },
    orgPerMinute: plan.orgRequestsPerMinute,
  };
};
