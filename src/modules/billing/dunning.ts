import { configOf } from "../../env";
import { clock } from "../../platform/clock";
import type { Logger } from "../../platform/logger";
import { sendEmail } from "../email/service";
import { billingContactsOf } from "../identity/service";
import { planById } from "../plans/service";
import { stripeOf } from "./stripe";
import { graceEnded, markDowngraded, type SubscriptionRow, storeSubscription, syncSubscription } from "./subscriptions";

/**
 * Dunning: when a subscription first turns `past_due`, its owners are emailed and a grace
 * period starts (BILLING_GRACE_DAYS) during which the plan stays; when it ends unpaid, the
 * cron cancels the subscription at Stripe and the account is on the free plan. If Stripe's
 * own retry settings cancel it first, its `deleted` event ends it the same way.
 */

export async function emailPastDue(env: Env, subscription: SubscriptionRow): Promise<void> {
  const plan = subscription.planId ? await planById(env, subscription.planId) : undefined;
  const graceEndsAt = new Date(subscription.graceEndsAt ?? clock.now()).toUTCString();
  for (const contact of await billingContactsOf(env, subscription.accountId)) {
    await sendEmail(env, contact.email, "paymentFailed", {
      name: contact.name,
      planName: plan?.name ?? "paid",
      graceEndsAt,
    });
  }
}

/** Cancels subscriptions whose grace ended unpaid; the plan falls back to free. */
export async function downgradeAfterGrace(env: Env, now: number, logger: Logger, limit = 25): Promise<number> {
  const stripe = stripeOf(configOf(env));
  let downgraded = 0;
  for (const subscription of await graceEnded(env, now, limit)) {
    try {
      await storeSubscription(env, await stripe.subscriptions.cancel(subscription.id));
    } catch {
      // Canceled meanwhile (by Stripe's own retry settings, say) is as good; else next run.
      const synced = await syncSubscription(env, subscription.id).catch(() => null);
      if (synced?.row.status !== "canceled") {
        logger.error("could not cancel a subscription past its grace", { subscriptionId: subscription.id });
        continue;
      }
    }
    await markDowngraded(env, subscription.id, now);
    downgraded += 1;
  }
  return downgraded;
}
