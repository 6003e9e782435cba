import { z } from "@hono/zod-openapi";
import { clock } from "../../../platform/clock";
import type { Runtime } from "../../../platform/context";
import { database } from "../../../platform/db";
import { defineTask } from "../../../platform/queue/tasks";
import { accountExists } from "../../identity/api";
import { grantIncluded, monthOfYearlyPeriod } from "../credits/included";
import { grant } from "../credits/ledger";
import { clawBackRefund } from "../credits/refunds";
import { dunPastDue } from "../dunning/past-due";
import { planOfPrice, syncSubscription } from "../subscriptions/store";
import { creditPackPurchases } from "../tables";
import { stripeOf } from "./client";
import { accountOfCustomer } from "./customers";

/**
 * Stripe events, processed from the JOBS queue after the webhook stored them (one task per
 * event id: a redelivered event that was processed does nothing). Objects whose state matters
 * are re-read from Stripe (events arrive late and out of order), and every effect is keyed by
 * a unique reference, so a retried task never applies twice.
 */

const StripeEventPayload = z
  .object({ id: z.string(), type: z.string(), object: z.record(z.string(), z.unknown()) })
  .strict();
type StripeEventPayload = z.infer<typeof StripeEventPayload>;

const idOf = (value: string | { id: string }) => (typeof value === "string" ? value : value.id);
const Expandable = z.union([z.string(), z.object({ id: z.string() })]);

const CheckoutSession = z.object({
  id: z.string(),
  mode: z.string(),
  subscription: Expandable.nullable().optional(),
});

/**
 * A subscription checkout syncs its subscription; a paid credit-pack checkout grants the pack
 * of the price it sold, once (its session id is the reference). The session is re-read, so a
 * late `completed` after `async_payment_succeeded` sees it paid either way.
 */
async function completeCheckout(runtime: Runtime, object: Record<string, unknown>) {
  const { env, config, logger } = runtime;
  const event = CheckoutSession.parse(object);
  if (event.mode === "subscription") {
    if (event.subscription) await syncSubscription(runtime, idOf(event.subscription));
    return;
  }
  if (event.mode !== "payment") return;
  const session = await stripeOf(config).checkout.sessions.retrieve(event.id, { expand: ["line_items"] });
  // A 100 %-off checkout needs no payment, and is as good as paid.
  if (!["paid", "no_payment_required"].includes(session.payment_status)) return;
  const priceIds = new Set(session.line_items?.data.map((item) => item.price?.id));
  const pack = config.BILLING_CREDIT_PACKS.find((candidate) => priceIds.has(candidate.priceId));
  const accountId = session.customer ? await accountOfCustomer(env, idOf(session.customer)) : null;
  if (!accountId || !pack || !(await accountExists(env, accountId))) {
    // Paid but not placeable: fail the task (retried, then `failed` and replayable), never drop it.
    logger.error("paid checkout session without a known account and pack", { sessionId: session.id });
    throw new Error(`checkout session ${session.id} names no known account and credit pack`);
  }
  const millicredits = pack.credits * 1000;
  // The purchase first (what a refund claws back from), then the credits: each once, so a
  // retried task completes whichever step it missed.
  await database(env)
    .insert(creditPackPurchases)
    .values({
      sessionId: session.id,
      accountId,
      paymentIntent: session.payment_intent ? idOf(session.payment_intent) : null,
      millicredits,
      createdAt: clock.now(),
    })
    .onConflictDoNothing();
  await grant(env, {
    accountId,
    bucket: "purchased",
    amount: millicredits,
    reason: "credit_pack",
    reference: `pack:${session.id}`,
  });
}

const Invoice = z.object({
  id: z.string(),
  billing_reason: z.string().nullable().optional(),
  parent: z
    .object({ subscription_details: z.object({ subscription: Expandable }).nullable().optional() })
    .nullable()
    .optional(),
  lines: z.object({
    data: z.array(
      z.object({
        period: z.object({ start: z.number(), end: z.number() }),
        pricing: z
          .object({ price_details: z.object({ price: Expandable }).nullable().optional() })
          .nullable()
          .optional(),
        parent: z
          .object({ subscription_item_details: z.object({ proration: z.boolean() }).nullable().optional() })
          .nullable()
          .optional(),
      }),
    ),
  }),
});

/** Invoices that start a period grant its included credits; proration invoices do not. */
const PERIOD_INVOICES = new Set(["subscription_create", "subscription_cycle"]);

/**
 * A paid invoice brings the subscription up to date and grants the period's included credits:
 * those of its first plan line that is not a proration (a cycle invoice can carry proration
 * lines of a mid-period change, each with its own partial period).
 */
async function invoicePaid(runtime: Runtime, object: Record<string, unknown>) {
  const { env, config } = runtime;
  const invoice = Invoice.parse(object);
  const subscription = invoice.parent?.subscription_details?.subscription;
  if (!subscription) return;
  const stored = await syncSubscription(runtime, idOf(subscription));
  if (!stored || !PERIOD_INVOICES.has(invoice.billing_reason ?? "")) return;
  for (const line of invoice.lines.data) {
    const price = line.pricing?.price_details?.price;
    const sold = price ? planOfPrice(config, idOf(price)) : null;
    if (!sold || line.parent?.subscription_item_details?.proration) continue;
    const start = line.period.start * 1000;
    const end = line.period.end * 1000;
    // A yearly plan's credits come a month at a time: this is the first; the first spend of each next month grants it.
    const period =
      sold.interval === "year" ? monthOfYearlyPeriod(start, end, start) : { periodStart: start, periodEnd: end };
    if (period) await grantIncluded(env, { accountId: stored.accountId, planId: sold.plan, ...period });
    return;
  }
}

/** Stores the subscription as Stripe has it now; dunning starts if it reads past due. */
async function syncAndReact(runtime: Runtime, subscriptionId: string) {
  const stored = await syncSubscription(runtime, subscriptionId);
  if (stored) await dunPastDue(runtime, stored);
}

/** Stripe reports a payment failed: the subscription is re-read, and dunning starts if it is past due. */
async function invoicePaymentFailed(runtime: Runtime, object: Record<string, unknown>) {
  const subscription = Invoice.parse(object).parent?.subscription_details?.subscription;
  if (subscription) await syncAndReact(runtime, idOf(subscription));
}

/** A subscription was created, changed (to `past_due` among others) or deleted. */
async function subscriptionChanged(runtime: Runtime, object: Record<string, unknown>) {
  await syncAndReact(runtime, z.object({ id: z.string() }).parse(object).id);
}

const handlers: Record<string, (runtime: Runtime, object: Record<string, unknown>) => Promise<void>> = {
  // Paid at once (cards), or later for delayed methods (an unpaid session grants nothing yet).
  "checkout.session.completed": completeCheckout,
  "checkout.session.async_payment_succeeded": completeCheckout,
  "customer.subscription.created": subscriptionChanged,
  "customer.subscription.updated": subscriptionChanged,
  "customer.subscription.deleted": subscriptionChanged,
  "invoice.paid": invoicePaid,
  "invoice.payment_failed": invoicePaymentFailed,
  "charge.refunded": ({ env }, object) => clawBackRefund(env, object),
};

export const stripeEventTask = defineTask({
  kind: "billing.stripe-event",
  payload: StripeEventPayload,
  async handle(event: StripeEventPayload, context) {
    const { logger } = context;
    const handler = handlers[event.type];
    if (!handler) {
      logger.debug("stripe event not handled", { eventId: event.id, type: event.type });
      return;
    }
    await handler(context, event.object);
  },
});
