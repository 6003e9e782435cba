import type { Runtime } from "../../../platform/context";
import { stripeOf } from "../stripe/client";
import { graceEnded, markDowngraded, storeSubscription, syncSubscription } from "../subscriptions/store";

/**
 * The end of dunning: a subscription still unpaid when its grace period ended is cancelled at
 * Stripe, and its account is on the free plan. If Stripe's own retry settings cancel it first,
 * its `deleted` event ends it the same way.
 */

/**
 * Cancels subscriptions whose grace ended unpaid; the plan falls back to free. Each is re-read
 * first: one paid meanwhile (its event not processed yet) is stored as paid and kept.
 */
export async function downgradeAfterGrace(runtime: Runtime, now: number, limit = 10): Promise<number> {
  const { env, config, logger } = runtime;
  const stripe = stripeOf(config);
  let downgraded = 0;
  for (const candidate of await graceEnded(env, now, limit)) {
    try {
      const current = await syncSubscription(runtime, candidate.id);
      if (current?.status === "past_due" || current?.status === "unpaid") {
        await storeSubscription(runtime, await stripe.subscriptions.cancel(candidate.id));
      } else if (current?.status !== "canceled") {
        continue;
      }
    } catch (error) {
      logger.error("could not cancel a subscription past its grace; the next run tries again", {
        subscriptionId: candidate.id,
        error: error instanceof Error ? error.message : String(error),
      });
      continue;
    }
    await markDowngraded(env, candidate.id, now);
    downgraded += 1;
  }
  return downgraded;
}
