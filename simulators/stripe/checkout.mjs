// @ts-check
// Checkout sessions: the /v1/checkout/sessions API, and the customer completing a checkout.
import { invalid } from "./errors.mjs";
import { createInvoice, fullPeriodLine } from "./invoices.mjs";
import { boolParam, intParam, list, metadataParam, stringParam } from "./params.mjs";
import { createCharge, createPaymentIntent } from "./payments.mjs";
import { createSubscription } from "./subscriptions.mjs";
import { newId, now, sum } from "./util.mjs";

/** @import Stripe from "stripe" */
/** @import { Obj, Shape, SimulatedStripe } from "./state.mjs" */
/** @import { Route } from "./http.mjs" */

function createCheckoutSession(/** @type {SimulatedStripe} */ stripe, /** @type {Obj} */ params) {
  const mode = stringParam(params.mode, "mode", true);
  if (mode !== "payment" && mode !== "subscription") {
    throw invalid("The simulator supports mode `payment` and `subscription`.", "mode");
  }
  const customer = stripe.customer(stringParam(params.customer, "customer", true), "customer").id;
  const lineItems = checkoutLineItems(stripe, params.line_items, mode);
  const id = newId("cs_test_");
  const created = now();
  const session = /** @satisfies {Shape<Stripe.Checkout.Session>} */ ({
    id,
    object: "checkout.session",
    amount_subtotal: sum(lineItems.map((item) => item.amount_subtotal)),
    amount_total: sum(lineItems.map((item) => item.amount_total)),
    cancel_url: stringParam(params.cancel_url, "cancel_url") ?? null,
    client_reference_id: stringParam(params.client_reference_id, "client_reference_id") ?? null,
    created,
    currency: lineItems[0]?.currency,
    customer,
    expires_at: created + 24 * 60 * 60,
    invoice: null,
    livemode: false,
    metadata: metadataParam(params.metadata, "metadata"),
    mode,
    payment_intent: null,
    payment_status: "unpaid",
    status: "open",
    subscription: null,
    success_url: stringParam(params.success_url, "success_url", true),
    url: `${stripe.baseUrl}/checkout/${id}`,
  });
  stripe.checkoutSessions.set(id, session);
  stripe.checkoutDetails.set(id, {
    lineItems,
    subscriptionMetadata: metadataParam(params.subscription_data?.metadata, "subscription_data[metadata]"),
  });
  return session;
}

/** The session's line items, as Checkout lists them; one recurring price in subscription mode. */
function checkoutLineItems(
  /** @type {SimulatedStripe} */ stripe,
  /** @type {unknown} */ param,
  /** @type {"payment" | "subscription"} */ mode,
) {
  if (!Array.isArray(param) || param.length === 0) throw invalid("Missing required param: line_items.", "line_items");
  if (mode === "subscription" && param.length > 1) {
    throw invalid("The simulator supports one line item in subscription mode.", "line_items");
  }
  const items = param.map((item, i) => {
    const price = stripe.price(stringParam(item?.price, `line_items[${i}][price]`, true), `line_items[${i}][price]`);
    if (mode === "payment" && price.recurring) {
      throw invalid(
        "You specified `payment` mode but passed a recurring price. Either switch to `subscription` mode or use only one-time prices.",
        `line_items[${i}][price]`,
      );
    }
    if (mode === "subscription" && !price.recurring) {
      throw invalid(
        "You must provide at least one recurring price in `subscription` mode when using prices.",
        `line_items[${i}][price]`,
      );
    }
    const quantity = intParam(item.quantity, `line_items[${i}][quantity]`, 1);
    const amount = price.unit_amount * quantity;
    return /** @satisfies {Shape<Stripe.LineItem>} */ ({
      id: newId("li_"),
      object: "item",
      amount_discount: 0,
      amount_subtotal: amount,
      amount_tax: 0,
      amount_total: amount,
      currency: price.currency,
      description: stripe.productName(price),
      price,
      quantity,
    });
  });
  if (new Set(items.map((item) => item.currency)).size > 1) {
    throw invalid("All line items must share one currency.", "line_items");
  }
  return items;
}

/** @param {SimulatedStripe} stripe @param {string} id @param {Obj} params */
function retrieveCheckoutSession(stripe, id, params) {
  const session = stripe.checkoutSession(id);
  const expanded = params.expand !== undefined && Object.values(params.expand).includes("line_items");
  return expanded ? { ...session, line_items: lineItemsOf(stripe, id) } : session;
}

/** GET /v1/checkout/sessions: newest first, filtered by customer and status (one page). */
function listCheckoutSessions(/** @type {SimulatedStripe} */ stripe, /** @type {Obj} */ params) {
  const limit = intParam(params.limit, "limit", 10);
  const sessions = [...stripe.checkoutSessions.values()]
    .filter((session) => params.customer === undefined || session.customer === params.customer)
    .filter((session) => params.status === undefined || session.status === params.status)
    .reverse();
  return list(sessions.slice(0, limit), "/v1/checkout/sessions", sessions.length > limit);
}

/** POST /v1/checkout/sessions/:id/expire: an open session can no longer be paid. */
function expireCheckoutSession(/** @type {SimulatedStripe} */ stripe, /** @type {string} */ id) {
  const session = stripe.checkoutSession(id);
  if (session.status !== "open") {
    throw invalid(`Only Checkout Sessions with a status in ["open"] can be expired.`, undefined);
  }
  session.status = "expired";
  return session;
}

export function lineItemsOf(/** @type {SimulatedStripe} */ stripe, /** @type {string} */ id) {
  stripe.checkoutSession(id);
  return list(stripe.checkoutDetails.get(id)?.lineItems ?? [], `/v1/checkout/sessions/${id}/line_items`);
}

// --- the customer pays -----------------------------------------------------------------------

/** The customer finishes Checkout: a payment, or a new subscription with its first invoice. */
export function completeCheckout(
  /** @type {SimulatedStripe} */ stripe,
  /** @type {string} */ id,
  { paid = true } = {},
) {
  const session = stripe.checkoutSession(id);
  if (session.status !== "open") throw invalid(`Checkout session ${id} is already ${session.status}.`, undefined);
  if (session.mode === "subscription" && !paid) {
    throw invalid("The simulator completes subscription checkouts paid only.", "paid");
  }
  session.status = "complete";
  if (session.mode === "payment") {
    const paymentIntent = createPaymentIntent(stripe, session);
    const charge = paid ? createCharge(stripe, paymentIntent) : undefined;
    session.payment_intent = paymentIntent.id;
    session.payment_status = paid ? "paid" : "unpaid";
    return {
      events: [stripe.emit("checkout.session.completed", session)],
      checkout_session: session,
      payment_intent: paymentIntent,
      charge,
    };
  }
  const subscription = createSubscription(stripe, session);
  const invoice = createInvoice(stripe, subscription, "subscription_create", {
    lines: [fullPeriodLine(stripe, subscription)],
    paid: true,
  });
  subscription.latest_invoice = invoice.id;
  Object.assign(session, { subscription: subscription.id, invoice: invoice.id, payment_status: "paid" });
  const events = [
    stripe.emit("checkout.session.completed", session),
    stripe.emit("customer.subscription.created", subscription),
    stripe.emit("invoice.paid", invoice),
  ];
  return { events, checkout_session: session, subscription, invoice };
}

/** A delayed payment method (a bank debit) settles or fails after Checkout completed unpaid. */
function settleAsyncPayment(
  /** @type {SimulatedStripe} */ stripe,
  /** @type {string} */ id,
  { succeeded = true } = {},
) {
  const session = stripe.checkoutSession(id);
  const paymentIntent = session.payment_intent ? stripe.paymentIntents.get(session.payment_intent) : undefined;
  if (session.status !== "complete" || paymentIntent?.status !== "processing") {
    throw invalid(`Checkout session ${id} has no payment in progress.`, undefined);
  }
  if (!succeeded) {
    paymentIntent.status = "requires_payment_method";
    return { events: [stripe.emit("checkout.session.async_payment_failed", session)], checkout_session: session };
  }
  const charge = createCharge(stripe, paymentIntent);
  session.payment_status = "paid";
  return {
    events: [stripe.emit("checkout.session.async_payment_succeeded", session)],
    checkout_session: session,
    payment_intent: paymentIntent,
    charge,
  };
}

/** @type {Route[]} */
export const routes = [
  ["POST", /^\/v1\/checkout\/sessions$/, (s, params) => createCheckoutSession(s, params)],
  [
    "GET",
    /^\/v1\/checkout\/sessions\/([^/]+)$/,
    (s, params, id = "") => retrieveCheckoutSession(s, id, params),
    ["line_items"],
  ],
  ["GET", /^\/v1\/checkout\/sessions\/([^/]+)\/line_items$/, (s, _params, id = "") => lineItemsOf(s, id)],
  ["GET", /^\/v1\/checkout\/sessions$/, (s, params) => listCheckoutSessions(s, params)],
  ["POST", /^\/v1\/checkout\/sessions\/([^/]+)\/expire$/, (s, _params, id = "") => expireCheckoutSession(s, id)],
];

/** @type {Route[]} */
export const controlRoutes = [
  [
    "POST",
    /^\/__sim\/checkout_sessions\/([^/]+)\/complete$/,
    (s, body, id = "") => completeCheckout(s, id, { paid: boolParam(body.paid, "paid") }),
  ],
  [
    "POST",
    /^\/__sim\/checkout_sessions\/([^/]+)\/async_payment$/,
    (s, body, id = "") => settleAsyncPayment(s, id, { succeeded: boolParam(body.succeeded, "succeeded") }),
  ],
];
