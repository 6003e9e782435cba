import type Stripe from "stripe";
import { configOf } from "../../../env";
import { clock } from "../../../platform/clock";
import type { Logger } from "../../../platform/logger";
import { sendEmail } from "../../email/api";
import { billingContactsOf } from "../../identity/api";
import { planById } from "../../plans/api";
import { stripeOf } from "../stripe/client";
import {
  claimDunningEmail,
  graceEnded,
  markDowngraded,
  releaseDunningEmail,
  type SubscriptionRow,
  storeSubscription,
  syncSubscription,
} from "../subscriptions/store";

/**
 * Dunning: when a subscription's payment fails (`past_due`), its owners are emailed once and a
 * grace period starts (BILLING_GRACE_DAYS) during which the plan stays; when it ends unpaid,
 * the cron cancels the subscription at Stripe and the account is on the free plan. If Stripe's
 * own retry settings cancel it first, its `deleted` event ends it the same way.
 */

/** Emails the owners of a past-due subscription, once: claimed first, given back on failure. */
async function emailPastDue(env: Env, subscription: SubscriptionRow): Promise<void> {
  if (!(await claimDunningEmail(env, subscription.id, clock.now()))) return;
  try {
    const plan = subscription.planId ? await planById(env, subscription.planId) : undefined;
    const graceEndsAt = new Date(subscription.graceEndsAt ?? clock.now()).toUTCString();
    for (const contact of await billingContactsOf(env, subscription.accountId)) {
      await sendEmail(env, contact.email, "paymentFailed", {
        name: contact.name,
        planName: plan?.name ?? "paid",
        graceEndsAt,
      });
    }
  } catch (error) {
    await releaseDunningEmail(env, subscription.id);
    throw error;
  }
}

/** Stores Stripe's answer; if it is past due and its owners were not told yet, tells them. */
export async function storeAndDun(env: Env, subscription: Stripe.Subscription): Promise<SubscriptionRow | null> {
  const row = await storeSubscription(env, subscription);
  if (row?.status === "past_due" && row.dunningEmailedAt === null) await emailPastDue(env, row);
  return row;
}

/** Re-reads a subscription from Stripe, then as `storeAndDun`. */
export async function syncAndDun(env: Env, subscriptionId: string): Promise<SubscriptionRow | null> {
  return storeAndDun(env, await stripeOf(configOf(env)).subscriptions.retrieve(subscriptionId));
}

/**
 * Cancels subscriptions whose grace ended unpaid; the plan falls back to free. Each is re-read
 * first: one paid meanwhile (its event not processed yet) is stored as paid and kept.
 */
export async function downgradeAfterGrace(env: Env, now: number, logger: Logger, limit = 10): Promise<number> {
  const stripe = stripeOf(configOf(env));
  let downgraded = 0;
  for (const candidate of await graceEnded(env, now, limit)) {
    try {
      const current = await syncSubscription(env, candidate.id);
      if (current?.status === "past_due" || current?.status === "unpaid") {
        await storeSubscription(env, await stripe.subscriptions.cancel(candidate.id));
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
