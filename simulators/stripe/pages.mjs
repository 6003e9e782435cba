// @ts-check
// HTML pages standing in for Stripe Checkout, the customer portal and hosted invoices.
import { completeCheckout, lineItemsOf } from "./checkout.mjs";
import { noSuch, StripeError } from "./errors.mjs";
import { updateSubscription } from "./subscriptions.mjs";
import { day } from "./util.mjs";

/** @import { Obj, SimulatedStripe } from "./state.mjs" */
/** @import { Reply } from "./http.mjs" */

/** @returns {Reply} */
export function answerPage(
  /** @type {SimulatedStripe} */ stripe,
  /** @type {string} */ method,
  /** @type {URL} */ url,
) {
  const [, page, id = "", action, subscriptionId = "", subAction] = url.pathname.split("/").map(decodeURIComponent);
  try {
    if (page === "checkout" && method === "GET" && !action) return checkoutPage(stripe, id);
    if (page === "checkout" && method === "POST" && action === "pay") {
      const { checkout_session: session } = stripe.publish(completeCheckout(stripe, id));
      return redirect(session.success_url.replaceAll("{CHECKOUT_SESSION_ID}", session.id));
    }
    if (page === "checkout" && method === "POST" && action === "cancel") {
      const session = stripe.checkoutSession(id);
      return session.cancel_url ? redirect(session.cancel_url) : html(200, "Checkout canceled", "");
    }
    if (page === "portal" && method === "GET" && !action) return portalPage(stripe, id);
    if (page === "portal" && method === "POST" && action === "subscriptions" && subAction === "cancel") {
      const portal = stripe.find(stripe.portalSessions, "billing_portal.session", id);
      if (stripe.subscription(subscriptionId).customer !== portal.customer)
        throw noSuch("subscription", subscriptionId, undefined);
      stripe.publish(updateSubscription(stripe, subscriptionId, { cancel_at_period_end: "true" }));
      return redirect(`/portal/${encodeURIComponent(id)}`);
    }
    if (page === "invoices" && method === "GET" && !action) return invoicePage(stripe, id);
  } catch (error) {
    if (!(error instanceof StripeError)) throw error;
    return html(error.status, "Error", `<p>${escapeHtml(error.message)}</p>`);
  }
  return html(404, "Not found", `<p>Nothing is served at ${escapeHtml(url.pathname)}.</p>`);
}

/** @returns {Reply} */
function html(/** @type {number} */ status, /** @type {string} */ title, /** @type {string} */ content) {
  const page = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<style>body{font-family:system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem}table{width:100%;border-collapse:collapse}
td,th{text-align:left;padding:.4rem;border-bottom:1px solid #ddd}button{font-size:1rem;padding:.5rem 1.2rem;margin:.5rem .5rem 0 0}
.note{color:#666;font-size:.9rem}</style></head>
<body><p class="note">Stripe simulator (local, test mode): no money moves.</p><h1>${escapeHtml(title)}</h1>${content}</body></html>`;
  return { status, body: page, headers: { "content-type": "text/html; charset=utf-8" } };
}

/** @returns {Reply} */
function redirect(/** @type {string} */ location) {
  return { status: 303, body: "", headers: { location } };
}

function checkoutPage(/** @type {SimulatedStripe} */ stripe, /** @type {string} */ id) {
  const session = stripe.checkoutSession(id);
  const rows = lineItemsOf(stripe, id).data.map(
    (item) =>
      `<tr><td>${escapeHtml(item.description)}</td><td>× ${escapeHtml(item.quantity)}</td>` +
      `<td>${escapeHtml(money(item.amount_total, item.currency))}${escapeHtml(perInterval(item.price))}</td></tr>`,
  );
  const action = `/checkout/${encodeURIComponent(id)}`;
  const controls =
    session.status === "open"
      ? `<form method="post" action="${escapeHtml(`${action}/pay`)}" style="display:inline"><button>Pay</button></form>` +
        `<form method="post" action="${escapeHtml(`${action}/cancel`)}" style="display:inline"><button>Cancel</button></form>`
      : `<p>This checkout is ${escapeHtml(session.status)}. <a href="${escapeHtml(session.success_url.replaceAll("{CHECKOUT_SESSION_ID}", id))}">Back to the app</a></p>`;
  return html(
    200,
    "Checkout",
    `<table>${rows.join("")}<tr><th>Total</th><td></td><th>${escapeHtml(money(session.amount_total, session.currency))}</th></tr></table>${controls}`,
  );
}

function portalPage(/** @type {SimulatedStripe} */ stripe, /** @type {string} */ id) {
  const portal = stripe.find(stripe.portalSessions, "billing_portal.session", id);
  const subscriptions = [...stripe.subscriptions.values()].filter(
    (subscription) => subscription.customer === portal.customer,
  );
  const rows = subscriptions.map((subscription) => {
    const item = subscription.items.data[0];
    const ends = subscription.cancel_at_period_end ? "Cancels on" : "Renews on";
    const state =
      subscription.status === "canceled"
        ? `Ended ${day(subscription.ended_at)}`
        : `${ends} ${day(item.current_period_end)}`;
    const cancel =
      subscription.status === "canceled" || subscription.cancel_at_period_end
        ? ""
        : `<form method="post" action="${escapeHtml(`/portal/${encodeURIComponent(id)}/subscriptions/${encodeURIComponent(subscription.id)}/cancel`)}"><button>Cancel at period end</button></form>`;
    return (
      `<tr><td>${escapeHtml(stripe.productName(item.price))}</td>` +
      `<td>${escapeHtml(money(item.price.unit_amount, item.price.currency))}${escapeHtml(perInterval(item.price))}</td>` +
      `<td>${escapeHtml(subscription.status)}<br>${escapeHtml(state)}</td><td>${cancel}</td></tr>`
    );
  });
  const list = rows.length > 0 ? `<table>${rows.join("")}</table>` : "<p>No subscriptions.</p>";
  const back = portal.return_url ? `<p><a href="${escapeHtml(portal.return_url)}">Return to the app</a></p>` : "";
  return html(200, "Your subscriptions", list + back);
}

function invoicePage(/** @type {SimulatedStripe} */ stripe, /** @type {string} */ id) {
  const invoice = stripe.invoice(id);
  const rows = invoice.lines.data.map(
    (/** @type {Obj} */ line) =>
      `<tr><td>${escapeHtml(line.description)}</td><td>${escapeHtml(day(line.period.start))} – ${escapeHtml(day(line.period.end))}</td>` +
      `<td>${escapeHtml(money(line.amount, line.currency))}</td></tr>`,
  );
  return html(
    200,
    `Invoice ${invoice.number}`,
    `<p>Status: ${escapeHtml(invoice.status)}</p><table>${rows.join("")}` +
      `<tr><th>Amount due</th><td></td><th>${escapeHtml(money(invoice.amount_due, invoice.currency))}</th></tr></table>`,
  );
}

function money(/** @type {number} */ amount, /** @type {string} */ currency) {
  return `${(amount / 100).toFixed(2)} ${currency.toUpperCase()}`;
}

function perInterval(/** @type {Obj} */ price) {
  return price.recurring ? ` / ${price.recurring.interval}` : "";
}

function escapeHtml(/** @type {unknown} */ value) {
  return String(value ?? "")
    .replaceAll("&", "&amp;")
    .replaceAll("<", "&lt;")
    .replaceAll(">", "&gt;")
    .replaceAll('"', "&quot;")
    .replaceAll("'", "&#39;");
}
