// @ts-check
// Smoke check of the Stripe simulator against the real `stripe` SDK, signed webhooks included:
// `node simulators/verify-stripe-simulator.mjs` prints "ok" or fails on the first wrong answer.
import assert from "node:assert/strict";
import { createServer } from "node:http";
import Stripe from "stripe";
import { loadCatalog, startStripeSimulator } from "./stripe.mjs";

const secret = "whsec_verify";
/** @type {Stripe.Event[]} */
const received = [];
const receiver = createServer(async (request, response) => {
  let body = "";
  for await (const chunk of request) body += chunk;
  const signature = String(request.headers["stripe-signature"]);
  received.push(await Stripe.webhooks.constructEventAsync(body, signature, secret));
  response.writeHead(200).end();
});
await new Promise((resolve) => receiver.listen(0, "127.0.0.1", () => resolve(undefined)));
const receiverAddress = /** @type {import("node:net").AddressInfo} */ (receiver.address());

const simulator = await startStripeSimulator({
  catalog: loadCatalog(),
  webhook: { url: `http://127.0.0.1:${receiverAddress.port}/`, secret },
});
const stripe = new Stripe("sk_test_verify", { host: "127.0.0.1", port: simulator.port, protocol: "http" });
/** @param {string} path @param {object} [body] @returns {Promise<any>} */
const control = async (path, body = {}) => {
  const response = await fetch(`${simulator.url}/__sim/${path}`, { method: "POST", body: JSON.stringify(body) });
  assert.equal(response.status, 200, await response.clone().text());
  return response.json();
};

try {
  // Customers: an idempotency key replays the first answer, and refuses other parameters.
  const params = { email: "a@example.com", metadata: { account_id: "acct_1" } };
  const customer = await stripe.customers.create(params, { idempotencyKey: "k1" });
  assert.equal((await stripe.customers.create(params, { idempotencyKey: "k1" })).id, customer.id);
  await assert.rejects(stripe.customers.create({ email: "b@example.com" }, { idempotencyKey: "k1" }), {
    type: "StripeIdempotencyError",
  });
  assert.equal((await stripe.customers.retrieve(customer.id)).id, customer.id);
  await assert.rejects(
    new Stripe("rk_live_x", { host: "127.0.0.1", port: simulator.port, protocol: "http" }).customers.create(),
    {
      statusCode: 401,
    },
  );

  // Checkout: validation, expansion, completion by the control API.
  await assert.rejects(
    stripe.checkout.sessions.create({
      mode: "payment",
      customer: customer.id,
      success_url: "http://app/ok",
      line_items: [{ price: "price_dev-only-premium-month", quantity: 1 }],
    }),
    { statusCode: 400, param: "line_items[0][price]" },
  );
  const session = await stripe.checkout.sessions.create({
    mode: "subscription",
    customer: customer.id,
    success_url: "http://app/ok?session={CHECKOUT_SESSION_ID}",
    line_items: [{ price: "price_dev-only-premium-month", quantity: 1 }],
    subscription_data: { metadata: { account_id: "acct_1" } },
  });
  const expanded = await stripe.checkout.sessions.retrieve(session.id, { expand: ["line_items"] });
  assert.equal(expanded.line_items?.data[0]?.price?.id, "price_dev-only-premium-month");
  const completed = await control(`checkout_sessions/${session.id}/complete`);
  assert.deepEqual(
    completed.events.map((/** @type {Stripe.Event} */ event) => event.type),
    ["checkout.session.completed", "customer.subscription.created", "invoice.paid"],
  );

  // Subscriptions: retrieve, a prorated upgrade, renewals, cancellation.
  const subscriptionId = completed.subscription.id;
  const subscription = await stripe.subscriptions.retrieve(subscriptionId);
  assert.equal(subscription.metadata.account_id, "acct_1");
  const item = subscription.items.data[0];
  assert.ok(item && item.current_period_end > item.current_period_start);
  const upgraded = await stripe.subscriptions.update(subscriptionId, {
    items: [{ id: item.id, price: "price_dev-only-pro-month" }],
    proration_behavior: "always_invoice",
  });
  assert.equal(upgraded.items.data[0]?.price.id, "price_dev-only-pro-month");
  for (let i = 0; i < 3; i++) await control(`subscriptions/${subscriptionId}/renew`);
  await stripe.subscriptions.update(subscriptionId, { cancel_at_period_end: true });
  assert.equal((await stripe.subscriptions.cancel(subscriptionId)).status, "canceled");
  await assert.rejects(stripe.subscriptions.update(subscriptionId, { metadata: { x: "1" } }), { statusCode: 400 });

  // Invoices: newest first, paginated with cursors.
  const invoices = await stripe.invoices.list({ customer: customer.id, limit: 2 }).autoPagingToArray({ limit: 100 });
  assert.deepEqual(
    invoices.map((invoice) => invoice.billing_reason),
    ["subscription_cycle", "subscription_cycle", "subscription_cycle", "subscription_update", "subscription_create"],
  );
  assert.equal(invoices[4]?.parent?.subscription_details?.subscription, subscriptionId);

  // Injected failures outlast the SDK's retries.
  await control("fail_next", { method: "GET", path_prefix: "/v1/prices/", status: 500, times: 1 });
  await assert.rejects(stripe.prices.retrieve("price_dev-only-pro-year", {}, { maxNetworkRetries: 0 }), {
    statusCode: 500,
  });
  assert.equal((await stripe.prices.retrieve("price_dev-only-pro-year")).unit_amount, 99000);
  await assert.rejects(stripe.invoices.retrieve("in_missing"), { statusCode: 404, code: "resource_missing" });

  // Webhooks: every event arrives, signed, in emission order.
  const events = await fetch(`${simulator.url}/__sim/events?customer=${customer.id}`);
  const emitted = /** @type {{ data: Stripe.Event[] }} */ (await events.json()).data;
  for (let i = 0; i < 50 && received.length < emitted.length; i++) await new Promise((r) => setTimeout(r, 20));
  assert.deepEqual(
    received.map((event) => event.id),
    emitted.map((event) => event.id),
  );
  console.log(`ok: ${emitted.length} events delivered and verified`);
} finally {
  await simulator.close();
  receiver.close();
}
