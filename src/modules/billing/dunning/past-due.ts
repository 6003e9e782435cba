import { clock } from "../../../platform/clock";
import type { Configured } from "../../../platform/context";
import { sendEmail } from "../../email/api";
import { billingContactsOf } from "../../identity/api";
import { planById } from "../../plans/api";
import { claimDunningEmail, releaseDunningEmail, type SubscriptionRow } from "../subscriptions/store";

/**
 * Dunning starts when Stripe reports a subscription's payment failed (`invoice.payment_failed`,
 * or the subscription updated to `past_due`): its owners are emailed once, and the grace period
 * the store started (BILLING_GRACE_DAYS) runs, during which the plan stays. Other events that
 * store the subscription (a paid invoice, a checkout) never start it. When the grace ends unpaid,
 * the cron cancels the subscription (`downgrade.ts`).
 */

/** Emails the owners of a past-due subscription, once: claimed first, given back on failure. */
async function emailPastDue({ env, config }: Configured, subscription: SubscriptionRow): Promise<void> {
  if (!(await claimDunningEmail(env, subscription.id, clock.now()))) return;
  try {
    const plan = subscription.planId ? await planById(env, subscription.planId) : undefined;
    const graceEndsAt = new Date(subscription.graceEndsAt ?? clock.now()).toUTCString();
    for (const contact of await billingContactsOf(env, subscription.accountId)) {
      await sendEmail({ env, config }, contact.email, "paymentFailed", {
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

/** A subscription Stripe reported unpaid, as stored: if it is past due and its owners were not told yet, tells them. */
export async function dunPastDue(configured: Configured, subscription: SubscriptionRow): Promise<void> {
  if (subscription.status === "past_due" && subscription.dunningEmailedAt === null)
    await emailPastDue(configured, subscription);
}
