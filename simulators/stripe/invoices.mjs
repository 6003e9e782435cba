// @ts-check
// Invoices and their lines: GET /v1/invoices, and the invoices subscriptions produce.
import { paginate, stringParam } from "./params.mjs";
import { newId, now, sum } from "./util.mjs";

/** @import Stripe from "stripe" */
/** @import { Obj, Shape, SimulatedStripe } from "./state.mjs" */
/** @import { Route } from "./http.mjs" */

/** A line charging the subscription's current period in full. */
export function fullPeriodLine(/** @type {SimulatedStripe} */ stripe, /** @type {Obj} */ subscription) {
  const item = subscription.items.data[0];
  return invoiceLine(subscription, item, {
    amount: item.price.unit_amount * item.quantity,
    description: `${item.quantity} × ${stripe.productName(item.price)}`,
    period: { start: item.current_period_start, end: item.current_period_end },
    proration: false,
  });
}

/**
 * @param {Obj} subscription @param {Obj} item
 * @param {{ amount: number, description: string, period: { start: number, end: number }, proration: boolean }} line
 */
export function invoiceLine(subscription, item, { amount, description, period, proration }) {
  return /** @satisfies {Shape<Stripe.InvoiceLineItem>} */ ({
    id: newId("il_"),
    object: "line_item",
    amount,
    currency: item.price.currency,
    description,
    discount_amounts: [],
    discountable: !proration,
    discounts: [],
    invoice: /** @type {string | null} */ (null),
    livemode: false,
    metadata: {},
    parent: {
      type: "subscription_item_details",
      invoice_item_details: null,
      subscription_item_details: {
        invoice_item: null,
        proration,
        proration_details: { credited_items: null },
        subscription: subscription.id,
        subscription_item: item.id,
      },
    },
    period,
    pretax_credit_amounts: [],
    pricing: {
      type: "price_details",
      price_details: { price: item.price.id, product: item.price.product },
      unit_amount_decimal: item.price.unit_amount_decimal,
    },
    quantity: item.quantity,
    subtotal: amount,
    taxes: [],
  });
}

/**
 * A finalized invoice of the subscription, paid or left open after a failed attempt. As at
 * Stripe, a renewal invoice's own period is the one that just ended (`period`), its lines
 * name the service period; a negative total is owed to the customer, so nothing is due.
 * @param {SimulatedStripe} stripe @param {Obj} subscription @param {string} billingReason
 * @param {{ lines: Obj[], paid: boolean, period?: { start: number, end: number } }} options
 */
export function createInvoice(stripe, subscription, billingReason, { lines, paid, period }) {
  const id = newId("in_");
  const created = now();
  const total = sum(lines.map((line) => line.amount));
  const amountDue = Math.max(0, total);
  for (const line of lines) line.invoice = id;
  stripe.invoiceCount += 1;
  const invoice = /** @satisfies {Shape<Stripe.Invoice>} */ ({
    id,
    object: "invoice",
    amount_due: amountDue,
    amount_paid: paid ? amountDue : 0,
    amount_remaining: paid ? 0 : amountDue,
    attempt_count: amountDue > 0 ? 1 : 0,
    attempted: true,
    billing_reason: /** @type {Stripe.Invoice.BillingReason} */ (billingReason),
    collection_method: "charge_automatically",
    created,
    currency: subscription.currency,
    customer: subscription.customer,
    hosted_invoice_url: `${stripe.baseUrl}/invoices/${id}`,
    // The simulator renders no PDF: the hosted page stands in for it.
    invoice_pdf: `${stripe.baseUrl}/invoices/${id}`,
    lines: { object: "list", data: lines, has_more: false, url: `/v1/invoices/${id}/lines` },
    livemode: false,
    metadata: {},
    next_payment_attempt: paid ? null : created + 3 * 24 * 60 * 60,
    number: `${stripe.invoicePrefix}-${String(stripe.invoiceCount).padStart(4, "0")}`,
    parent: {
      type: "subscription_details",
      quote_details: null,
      subscription_details: { metadata: structuredClone(subscription.metadata), subscription: subscription.id },
    },
    period_end: period?.end ?? created,
    period_start: period?.start ?? created,
    status: paid ? "paid" : "open",
    status_transitions: {
      finalized_at: created,
      marked_uncollectible_at: null,
      paid_at: paid ? created : null,
      voided_at: null,
    },
    subtotal: total,
    total,
  });
  stripe.invoices.set(id, invoice);
  return invoice;
}

/** GET /v1/invoices: newest first, filtered by customer and subscription, paginated. */
function listInvoices(/** @type {SimulatedStripe} */ stripe, /** @type {Obj} */ params) {
  const customer = stringParam(params.customer, "customer");
  const subscription = stringParam(params.subscription, "subscription");
  const matching = [...stripe.invoices.values()]
    .reverse()
    .filter((invoice) => !customer || invoice.customer === customer)
    .filter((invoice) => !subscription || invoice.parent.subscription_details.subscription === subscription);
  return paginate(matching, params, "/v1/invoices", "invoice");
}

/** @type {Route[]} */
export const routes = [
  ["GET", /^\/v1\/invoices$/, (s, params) => listInvoices(s, params)],
  ["GET", /^\/v1\/invoices\/([^/]+)$/, (s, _params, id) => s.invoice(id)],
];
