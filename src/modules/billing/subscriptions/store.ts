import { and, desc, eq, inArray, isNull, lte, sql } from "drizzle-orm";
import type Stripe from "stripe";
import type { Config } from "../../../env";
import { clock, DAY_MS } from "../../../platform/clock";
import type { Configured } from "../../../platform/context";
import { database } from "../../../platform/db";
import { forgetEffectivePlan } from "../../plans/api";
import { forgetIncludedTerms } from "../credits/included";
import { stripeOf } from "../stripe/client";
import { accountOfCustomer } from "../stripe/customers";
import { billingSubscriptions } from "../tables";

/**
 * Subscriptions, stored as Stripe last described them. Every subscription event re-reads the
 * subscription from Stripe rather than trusting the event's copy, so events arriving late or
 * out of order converge on Stripe's latest state; `canceled` is final on our side too, so a
 * late re-read can never bring one back.
 */

export type SubscriptionRow = typeof billingSubscriptions.$inferSelect;

/** Statuses of a subscription that still exists and may bill again: a second one must not start. */
const LIVE_STATUSES = ["active", "trialing", "past_due", "unpaid", "incomplete", "paused"] as const;

/** Statuses of a subscription whose payment failed: its grace period runs. */
const UNPAID_STATUSES = ["past_due", "unpaid"];

/** The plan and interval a Stripe price sells here, or null. */
export function planOfPrice(config: Config, priceId: string) {
  return config.BILLING_PLAN_PRICES.find((price) => price.priceId === priceId) ?? null;
}

/** The price of a plan by interval, or null when it is not on sale so. */
export function priceOfPlan(config: Config, plan: string, interval: "month" | "year") {
  return config.BILLING_PLAN_PRICES.find((price) => price.plan === plan && price.interval === interval) ?? null;
}

/** The account's newest live subscription, or null. */
export async function liveSubscriptionOf(env: Env, accountId: string): Promise<SubscriptionRow | null> {
  const [row] = await database(env)
    .select()
    .from(billingSubscriptions)
    .where(and(eq(billingSubscriptions.accountId, accountId), inArray(billingSubscriptions.status, LIVE_STATUSES)))
    .orderBy(desc(billingSubscriptions.createdAt))
    .limit(1);
  return row ?? null;
}

/** The newest subscription of the account, live or ended, or null. */
export async function latestSubscriptionOf(env: Env, accountId: string): Promise<SubscriptionRow | null> {
  const [row] = await database(env)
    .select()
    .from(billingSubscriptions)
    .where(eq(billingSubscriptions.accountId, accountId))
    .orderBy(desc(billingSubscriptions.createdAt))
    .limit(1);
  return row ?? null;
}

/** Whether the subscription still gives its plan: paying, or past due within its grace. */
export function entitles(row: SubscriptionRow, now: number = clock.now()): boolean {
  if (row.status === "active" || row.status === "trialing") return true;
  return row.status === "past_due" && row.downgradedAt === null && (row.graceEndsAt ?? now + 1) > now;
}

/** Plans' resolver (registered in `index.ts`): the plan the live subscription gives, or null. */
export async function subscribedPlan(env: Env, accountId: string): Promise<string | null> {
  const live = await liveSubscriptionOf(env, accountId);
  return live && entitles(live) ? live.planId : null;
}

/** Identity's org-deletion guard: an org with a live subscription stays. */
export async function liveSubscriptionKeepsOrg(env: Env, orgId: string) {
  return (await liveSubscriptionOf(env, orgId))
    ? { reason: "it has a live subscription; cancel it first.", forcible: false }
    : null;
}

/**
 * Stores Stripe's description of a subscription and answers the stored row, or null when its
 * customer is not one of ours. The first time a payment failed (`past_due`, `unpaid`), its
 * grace period starts; paying again clears it (and the dunning email's mark).
 */
export async function storeSubscription(
  { env, config }: Configured,
  subscription: Stripe.Subscription,
): Promise<SubscriptionRow | null> {
  const customerId = typeof subscription.customer === "string" ? subscription.customer : subscription.customer.id;
  const accountId = await accountOfCustomer(env, customerId);
  if (!accountId) return null;
  const item = subscription.items.data[0];
  if (!item) throw new Error(`subscription ${subscription.id} has no item`);
  const sold = planOfPrice(config, item.price.id);
  const now = clock.now();
  const paying = subscription.status === "active" || subscription.status === "trialing";
  const values = {
    status: subscription.status,
    planId: sold?.plan ?? null,
    interval: sold?.interval ?? null,
    priceId: item.price.id,
    currentPeriodStart: item.current_period_start * 1000,
    currentPeriodEnd: item.current_period_end * 1000,
    cancelAtPeriodEnd: subscription.cancel_at_period_end,
    updatedAt: now,
  };
  const db = database(env);
  const grace = now + config.BILLING_GRACE_DAYS * DAY_MS;
  await db.batch([
    db
      .insert(billingSubscriptions)
      .values({ id: subscription.id, accountId, customerId, createdAt: subscription.created * 1000, ...values })
      .onConflictDoUpdate({
        target: billingSubscriptions.id,
        set: {
          ...values,
          ...(paying ? { pastDueSince: null, graceEndsAt: null, dunningEmailedAt: null } : {}),
        },
        setWhere: sql`${billingSubscriptions.status} <> 'canceled'`,
      }),
    db
      .update(billingSubscriptions)
      .set({ pastDueSince: now, graceEndsAt: grace })
      .where(
        and(
          eq(billingSubscriptions.id, subscription.id),
          inArray(billingSubscriptions.status, UNPAID_STATUSES),
          isNull(billingSubscriptions.pastDueSince),
        ),
      ),
  ]);
  forgetEffectivePlan(accountId);
  forgetIncludedTerms(accountId);
  const [row] = await db.select().from(billingSubscriptions).where(eq(billingSubscriptions.id, subscription.id));
  if (!row) throw new Error(`subscription ${subscription.id} is missing after its store`);
  return row;
}

/** Re-reads a subscription from Stripe and stores it (see `storeSubscription`). */
export async function syncSubscription(
  { env, config }: Configured,
  subscriptionId: string,
): Promise<SubscriptionRow | null> {
  const subscription = await stripeOf(config).subscriptions.retrieve(subscriptionId);
  return storeSubscription({ env, config }, subscription);
}

/** Subscriptions still unpaid (as stored) when their grace ended, oldest first. */
export function graceEnded(env: Env, now: number, limit: number) {
  return database(env)
    .select()
    .from(billingSubscriptions)
    .where(
      and(
        inArray(billingSubscriptions.status, UNPAID_STATUSES),
        isNull(billingSubscriptions.downgradedAt),
        lte(billingSubscriptions.graceEndsAt, now),
      ),
    )
    .orderBy(billingSubscriptions.graceEndsAt)
    .limit(limit);
}

/** Claims the dunning email of a subscription: true for the one caller that should send it. */
export async function claimDunningEmail(env: Env, subscriptionId: string, now: number): Promise<boolean> {
  const claimed = await database(env)
    .update(billingSubscriptions)
    .set({ dunningEmailedAt: now })
    .where(and(eq(billingSubscriptions.id, subscriptionId), isNull(billingSubscriptions.dunningEmailedAt)))
    .returning({ id: billingSubscriptions.id });
  return claimed.length > 0;
}

/** Gives a claim back when its email could not be sent, so a retry sends it. */
export function releaseDunningEmail(env: Env, subscriptionId: string) {
  return database(env)
    .update(billingSubscriptions)
    .set({ dunningEmailedAt: null })
    .where(eq(billingSubscriptions.id, subscriptionId));
}

export function markDowngraded(env: Env, subscriptionId: string, now: number) {
  return database(env)
    .update(billingSubscriptions)
    .set({ downgradedAt: now, updatedAt: now })
    .where(eq(billingSubscriptions.id, subscriptionId))
    .returning({ accountId: billingSubscriptions.accountId })
    .then(([row]) => {
      if (!row) return;
      forgetEffectivePlan(row.accountId);
      forgetIncludedTerms(row.accountId);
    });
}
