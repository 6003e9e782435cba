// @ts-check
// The bank's part of a subscription (control actions): renewal, a failed renewal payment, recovery.
import { advancePeriod, cycleOf, periodEnd, periodStart } from "./billing-cycle.mjs";
import { invalid } from "./errors.mjs";
import { createInvoice, fullPeriodLine, invoiceLine } from "./invoices.mjs";
import { liveSubscription } from "./subscriptions.mjs";
import { now } from "./util.mjs";

/** @import { Obj, SimulatedStripe } from "./state.mjs" */
/** @import { Route } from "./http.mjs" */

/** The period ends: the next one is invoiced and paid, or, when cancel_at_period_end, it ends. */
function renew(/** @type {SimulatedStripe} */ stripe, /** @type {string} */ id) {
  const subscription = liveSubscription(stripe, id);
  if (openInvoiceOf(stripe, subscription)) {
    throw invalid(`Subscription ${id} has an open invoice: recover it (or fail it again) first.`, undefined);
  }
  if (subscription.cancel_at_period_end) {
    Object.assign(subscription, { status: "canceled", ended_at: now() });
    return { events: [stripe.emit("customer.subscription.deleted", subscription)], subscription };
  }
  const before = structuredClone(subscription);
  const item = subscription.items.data[0];
  const previousPeriod = { start: item.current_period_start, end: item.current_period_end };
  advancePeriod(stripe, subscription);
  const invoice = createInvoice(stripe, subscription, "subscription_cycle", {
    lines: [fullPeriodLine(stripe, subscription)],
    paid: true,
    period: previousPeriod,
  });
  subscription.latest_invoice = invoice.id;
  const events = [
    stripe.emit("customer.subscription.updated", subscription, before),
    stripe.emit("invoice.paid", invoice),
  ];
  return { events, subscription, invoice };
}

/**
 * The renewal payment fails: an open invoice for the next period, the subscription past_due,
 * its period unchanged until the invoice is paid. Failing again counts one more attempt.
 */
function failPayment(/** @type {SimulatedStripe} */ stripe, /** @type {string} */ id) {
  const subscription = liveSubscription(stripe, id);
  if (subscription.cancel_at_period_end) {
    throw invalid(`Subscription ${id} ends at its period end: there is no renewal to fail.`, undefined);
  }
  const open = openInvoiceOf(stripe, subscription);
  if (open) {
    open.attempt_count += 1;
    open.next_payment_attempt = now() + 3 * 24 * 60 * 60;
    return { events: [stripe.emit("invoice.payment_failed", open)], subscription, invoice: open };
  }
  const before = structuredClone(subscription);
  const item = subscription.items.data[0];
  const cycle = cycleOf(stripe, subscription);
  const next = { ...cycle, index: cycle.index + 1 };
  const line = invoiceLine(subscription, item, {
    amount: item.price.unit_amount * item.quantity,
    description: `${item.quantity} × ${stripe.productName(item.price)}`,
    period: { start: periodStart(next), end: periodEnd(next) },
    proration: false,
  });
  const invoice = createInvoice(stripe, subscription, "subscription_cycle", {
    lines: [line],
    paid: false,
    period: { start: item.current_period_start, end: item.current_period_end },
  });
  Object.assign(subscription, { status: "past_due", latest_invoice: invoice.id });
  const events = [
    stripe.emit("invoice.payment_failed", invoice),
    stripe.emit("customer.subscription.updated", subscription, before),
  ];
  return { events, subscription, invoice };
}

/** The open renewal invoice gets paid: the subscription moves to the period it paid for. */
function recover(/** @type {SimulatedStripe} */ stripe, /** @type {string} */ id) {
  const subscription = liveSubscription(stripe, id);
  const invoice = openInvoiceOf(stripe, subscription);
  if (!invoice) throw invalid(`Subscription ${id} has no open invoice to recover.`, undefined);
  const before = structuredClone(subscription);
  const at = now();
  Object.assign(invoice, {
    status: "paid",
    amount_paid: invoice.amount_due,
    amount_remaining: 0,
    next_payment_attempt: null,
    status_transitions: { ...invoice.status_transitions, paid_at: at },
  });
  advancePeriod(stripe, subscription);
  subscription.status = "active";
  const events = [
    stripe.emit("invoice.paid", invoice),
    stripe.emit("customer.subscription.updated", subscription, before),
  ];
  return { events, subscription, invoice };
}

function openInvoiceOf(/** @type {SimulatedStripe} */ stripe, /** @type {Obj} */ subscription) {
  return [...stripe.invoices.values()].find(
    (invoice) => invoice.status === "open" && invoice.parent.subscription_details.subscription === subscription.id,
  );
}

/** @type {Route[]} */
export const controlRoutes = [
  ["POST", /^\/__sim\/subscriptions\/([^/]+)\/renew$/, (s, _body, id = "") => renew(s, id)],
  ["POST", /^\/__sim\/subscriptions\/([^/]+)\/payment_failed$/, (s, _body, id = "") => failPayment(s, id)],
  ["POST", /^\/__sim\/subscriptions\/([^/]+)\/recover$/, (s, _body, id = "") => recover(s, id)],
];
