// @ts-check
// Payment intents, charges and refunds: the money side of a payment-mode checkout.
import { invalid, StripeError } from "./errors.mjs";
import { intParam } from "./params.mjs";
import { newId, now } from "./util.mjs";

/** @import Stripe from "stripe" */
/** @import { Obj, Shape, SimulatedStripe } from "./state.mjs" */
/** @import { Route } from "./http.mjs" */

/** A payment in progress; createCharge settles it. */
export function createPaymentIntent(/** @type {SimulatedStripe} */ stripe, /** @type {Obj} */ session) {
  const paymentIntent = /** @satisfies {Shape<Stripe.PaymentIntent>} */ ({
    id: newId("pi_"),
    object: "payment_intent",
    amount: session.amount_total,
    amount_received: 0,
    created: now(),
    currency: session.currency,
    customer: session.customer,
    latest_charge: /** @type {string | null} */ (null),
    livemode: false,
    metadata: {},
    status: /** @type {Stripe.PaymentIntent.Status} */ ("processing"),
  });
  stripe.paymentIntents.set(paymentIntent.id, paymentIntent);
  return paymentIntent;
}

export function createCharge(/** @type {SimulatedStripe} */ stripe, /** @type {Obj} */ paymentIntent) {
  const charge = /** @satisfies {Shape<Stripe.Charge>} */ ({
    id: newId("ch_"),
    object: "charge",
    amount: paymentIntent.amount,
    amount_captured: paymentIntent.amount,
    amount_refunded: 0,
    captured: true,
    created: now(),
    currency: paymentIntent.currency,
    customer: paymentIntent.customer,
    livemode: false,
    metadata: {},
    paid: true,
    payment_intent: paymentIntent.id,
    refunded: false,
    status: "succeeded",
  });
  stripe.charges.set(charge.id, charge);
  Object.assign(paymentIntent, { status: "succeeded", amount_received: charge.amount, latest_charge: charge.id });
  return charge;
}

/** Refunds part of a payment (by default what is left); the charge's amount_refunded accumulates. */
function refundPayment(
  /** @type {SimulatedStripe} */ stripe,
  /** @type {string} */ paymentIntentId,
  /** @type {{ amount?: unknown }} */ { amount } = {},
) {
  const paymentIntent = stripe.find(stripe.paymentIntents, "payment_intent", paymentIntentId);
  const charge = stripe.charges.get(paymentIntent.latest_charge);
  if (!charge) throw invalid(`PaymentIntent ${paymentIntentId} has no successful charge to refund.`, undefined);
  const refundable = charge.amount - charge.amount_refunded;
  if (refundable === 0)
    throw new StripeError(400, `Charge ${charge.id} has already been refunded.`, { code: "charge_already_refunded" });
  const value = intParam(amount, "amount", refundable);
  if (value > refundable)
    throw invalid(`Refund amount (${value}) is greater than unrefunded amount on charge (${refundable}).`, "amount");
  const refund = /** @satisfies {Shape<Stripe.Refund>} */ ({
    id: newId("re_"),
    object: "refund",
    amount: value,
    charge: charge.id,
    created: now(),
    currency: charge.currency,
    metadata: {},
    payment_intent: paymentIntent.id,
    reason: null,
    status: "succeeded",
  });
  charge.amount_refunded += value;
  charge.refunded = charge.amount_refunded === charge.amount;
  return { events: [stripe.emit("charge.refunded", charge)], charge, refund };
}

/** @type {Route[]} */
export const controlRoutes = [
  [
    "POST",
    /^\/__sim\/payment_intents\/([^/]+)\/refund$/,
    (s, body, id = "") => refundPayment(s, id, { amount: body.amount }),
  ],
];
