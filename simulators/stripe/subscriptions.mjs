// @ts-check
// Subscriptions: created by Checkout; read, updated (with prorations) and canceled through /v1/subscriptions.
import { periodEnd, periodStart, remainingFraction, startCycle } from "./billing-cycle.mjs";
import { invalid } from "./errors.mjs";
import { createInvoice, fullPeriodLine, invoiceLine } from "./invoices.mjs";
import { boolParam, mergeMetadata } from "./params.mjs";
import { day, newId, now } from "./util.mjs";
import { changedFrom } from "./webhooks.mjs";

/** @import Stripe from "stripe" */
/** @import { Obj, Shape, SimulatedStripe } from "./state.mjs" */
/** @import { Route } from "./http.mjs" */

export function createSubscription(/** @type {SimulatedStripe} */ stripe, /** @type {Obj} */ checkoutSession) {
  const details = stripe.checkoutDetails.get(checkoutSession.id);
  const lineItem = details?.lineItems[0];
  if (!details || !lineItem) throw new Error(`checkout session ${checkoutSession.id} has no line item`);
  const id = newId("sub_");
  const start = now();
  const cycle = startCycle(stripe, id, lineItem.price, start);
  const item = /** @satisfies {Shape<Stripe.SubscriptionItem>} */ ({
    id: newId("si_"),
    object: "subscription_item",
    created: start,
    current_period_start: periodStart(cycle),
    current_period_end: periodEnd(cycle),
    metadata: {},
    price: lineItem.price,
    quantity: lineItem.quantity,
    subscription: id,
  });
  const subscription = /** @satisfies {Shape<Stripe.Subscription>} */ ({
    id,
    object: "subscription",
    billing_cycle_anchor: start,
    cancel_at: /** @type {number | null} */ (null),
    cancel_at_period_end: false,
    canceled_at: /** @type {number | null} */ (null),
    cancellation_details: { comment: null, feedback: null, reason: null },
    collection_method: "charge_automatically",
    created: start,
    currency: lineItem.currency,
    customer: checkoutSession.customer,
    ended_at: /** @type {number | null} */ (null),
    items: { object: "list", data: [item], has_more: false, url: `/v1/subscription_items?subscription=${id}` },
    latest_invoice: /** @type {string | null} */ (null),
    livemode: false,
    metadata: details.subscriptionMetadata,
    start_date: start,
    status: /** @type {Stripe.Subscription.Status} */ ("active"),
  });
  stripe.subscriptions.set(id, subscription);
  return subscription;
}

/** A subscription that may still change: canceled ones only answer 400. */
export function liveSubscription(/** @type {SimulatedStripe} */ stripe, /** @type {unknown} */ id) {
  const subscription = stripe.subscription(id);
  if (subscription.status === "canceled") {
    throw invalid(`Subscription ${subscription.id} is canceled; a canceled subscription cannot be updated.`, undefined);
  }
  return subscription;
}

/** POST /v1/subscriptions/:id: cancel_at_period_end, metadata, and a price change with prorations. */
export function updateSubscription(
  /** @type {SimulatedStripe} */ stripe,
  /** @type {string} */ id,
  /** @type {Obj} */ params,
) {
  const subscription = liveSubscription(stripe, id);
  const before = structuredClone(subscription);
  const prorationBehavior = params.proration_behavior ?? "create_prorations";
  if (!["create_prorations", "always_invoice", "none"].includes(prorationBehavior)) {
    throw invalid(`Invalid proration_behavior: ${prorationBehavior}.`, "proration_behavior");
  }
  const newPrice = requestedPrice(stripe, subscription, params.items);
  const cancelAtPeriodEnd = boolParam(params.cancel_at_period_end, "cancel_at_period_end");

  if (params.metadata !== undefined) subscription.metadata = mergeMetadata(subscription.metadata, params.metadata);
  if (cancelAtPeriodEnd !== undefined && cancelAtPeriodEnd !== subscription.cancel_at_period_end) {
    const item = subscription.items.data[0];
    Object.assign(subscription, {
      cancel_at_period_end: cancelAtPeriodEnd,
      cancel_at: cancelAtPeriodEnd ? item.current_period_end : null,
      canceled_at: cancelAtPeriodEnd ? now() : null,
      cancellation_details: {
        comment: null,
        feedback: null,
        reason: cancelAtPeriodEnd ? "cancellation_requested" : null,
      },
    });
  }
  const invoice = newPrice ? changePrice(stripe, subscription, newPrice, prorationBehavior) : undefined;

  const changed = Object.keys(changedFrom(before, subscription)).length > 0;
  const events = changed ? [stripe.emit("customer.subscription.updated", subscription, before)] : [];
  if (invoice) events.push(stripe.emit("invoice.paid", invoice));
  return { events, subscription, invoice };
}

/** The price `items[0]` asks for, if it differs from the subscription's. */
function requestedPrice(
  /** @type {SimulatedStripe} */ stripe,
  /** @type {Obj} */ subscription,
  /** @type {unknown} */ items,
) {
  if (items === undefined) return undefined;
  const requested = Array.isArray(items) ? items[0] : undefined;
  const item = subscription.items.data[0];
  if (!requested || requested.id !== item.id) {
    throw invalid(`The simulator updates the subscription's one item: pass items[0][id]=${item.id}.`, "items[0][id]");
  }
  if (requested.price === undefined) return undefined;
  const price = stripe.price(requested.price, "items[0][price]");
  if (!price.recurring) throw invalid("The price on a subscription item must be recurring.", "items[0][price]");
  return price.id === item.price.id ? undefined : price;
}

/**
 * Switches the price. Prorations credit the unused time on the old price and charge the rest
 * of the period on the new one, invoiced (and paid) at once; a change of interval restarts the
 * billing cycle today and charges a whole new period, as Stripe does.
 * @param {SimulatedStripe} stripe @param {Obj} subscription @param {Obj} price @param {string} prorationBehavior
 * @returns {Obj | undefined} the invoice, unless proration_behavior is "none"
 */
function changePrice(stripe, subscription, price, prorationBehavior) {
  const item = subscription.items.data[0];
  const at = now();
  const unused = remainingFraction(item, at);
  const credit = invoiceLine(subscription, item, {
    amount: -Math.round(item.price.unit_amount * item.quantity * unused),
    description: `Unused time on ${stripe.productName(item.price)} after ${day(at)}`,
    period: { start: at, end: item.current_period_end },
    proration: true,
  });
  const intervalChanged = price.recurring.interval !== item.price.recurring.interval;
  item.price = price;
  if (intervalChanged) {
    const cycle = startCycle(stripe, subscription.id, price, at);
    Object.assign(item, { current_period_start: periodStart(cycle), current_period_end: periodEnd(cycle) });
    subscription.billing_cycle_anchor = at;
    if (subscription.cancel_at_period_end) subscription.cancel_at = item.current_period_end;
  }
  if (prorationBehavior === "none") return undefined;
  const charge = intervalChanged
    ? fullPeriodLine(stripe, subscription)
    : invoiceLine(subscription, item, {
        amount: Math.round(price.unit_amount * item.quantity * unused),
        description: `Remaining time on ${stripe.productName(price)} after ${day(at)}`,
        period: { start: at, end: item.current_period_end },
        proration: true,
      });
  const invoice = createInvoice(stripe, subscription, "subscription_update", { lines: [credit, charge], paid: true });
  subscription.latest_invoice = invoice.id;
  return invoice;
}

/** DELETE /v1/subscriptions/:id: ends it now. */
function cancelSubscription(/** @type {SimulatedStripe} */ stripe, /** @type {string} */ id) {
  const subscription = liveSubscription(stripe, id);
  const at = now();
  Object.assign(subscription, {
    status: "canceled",
    canceled_at: subscription.canceled_at ?? at,
    ended_at: at,
    cancellation_details: { comment: null, feedback: null, reason: "cancellation_requested" },
  });
  return { events: [stripe.emit("customer.subscription.deleted", subscription)], subscription };
}

/** @type {Route[]} */
export const routes = [
  ["GET", /^\/v1\/subscriptions\/([^/]+)$/, (s, _params, id) => s.subscription(id)],
  [
    "POST",
    /^\/v1\/subscriptions\/([^/]+)$/,
    (s, params, id = "") => s.publish(updateSubscription(s, id, params)).subscription,
  ],
  [
    "DELETE",
    /^\/v1\/subscriptions\/([^/]+)$/,
    (s, _params, id = "") => s.publish(cancelSubscription(s, id)).subscription,
  ],
];

/** @type {Route[]} */
export const controlRoutes = [
  ["POST", /^\/__sim\/subscriptions\/([^/]+)\/cancel$/, (s, _body, id = "") => cancelSubscription(s, id)],
];
