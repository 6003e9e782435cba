// @ts-check
// `npm run stripe:event -- <type> [options]`: plays a Stripe event against the local Worker.
// The running Stripe simulator (started by `npm run dev`) performs the action and answers the
// events without sending them; this script signs each one with STRIPE_WEBHOOK_SECRET and
// POSTs it to the Worker's webhook, so you see the Worker's answer.
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { deliverWebhook, readDevVars } from "../simulators/stripe.mjs";

const USAGE = `Usage: npm run stripe:event -- <type> [options]

Types (the simulator performs the action; every event it yields is signed and sent):
  checkout.session.completed --session cs_…  [--unpaid]   (--unpaid: an async payment, settled later)
  checkout.session.async_payment_succeeded --session cs_…
  checkout.session.async_payment_failed --session cs_…
  invoice.paid --subscription sub_…                      (a renewal)
  invoice.payment_failed --subscription sub_…
  customer.subscription.deleted --subscription sub_…
  charge.refunded --payment-intent pi_… [--amount N]     (default: what is left)
  --file event.json                                      (any event JSON, sent as is)

Options:
  --worker URL      the Worker's webhook (default http://127.0.0.1:8787/v1/billing/webhook)
  --simulator URL   the Stripe simulator (default http://127.0.0.1:12111)
  --help            this text

The signing secret is STRIPE_WEBHOOK_SECRET from the environment, else from .dev.vars.`;

/** What the simulator's control API does for each type: its path and JSON body. */
const ACTIONS = {
  "checkout.session.completed": (/** @type {Options} */ o) => ({
    path: `checkout_sessions/${required(o, "session")}/complete`,
    body: { paid: !o.unpaid },
  }),
  "checkout.session.async_payment_succeeded": (/** @type {Options} */ o) => ({
    path: `checkout_sessions/${required(o, "session")}/async_payment`,
    body: { succeeded: true },
  }),
  "checkout.session.async_payment_failed": (/** @type {Options} */ o) => ({
    path: `checkout_sessions/${required(o, "session")}/async_payment`,
    body: { succeeded: false },
  }),
  "invoice.paid": (/** @type {Options} */ o) => ({
    path: `subscriptions/${required(o, "subscription")}/renew`,
    body: {},
  }),
  "invoice.payment_failed": (/** @type {Options} */ o) => ({
    path: `subscriptions/${required(o, "subscription")}/payment_failed`,
    body: {},
  }),
  "customer.subscription.deleted": (/** @type {Options} */ o) => ({
    path: `subscriptions/${required(o, "subscription")}/cancel`,
    body: {},
  }),
  "charge.refunded": (/** @type {Options} */ o) => ({
    path: `payment_intents/${required(o, "payment-intent")}/refund`,
    body: o.amount === undefined ? {} : { amount: positiveInteger(o.amount, "--amount") },
  }),
};

/** @typedef {Partial<Record<string, string | boolean>>} Options */

class UsageError extends Error {}

function required(/** @type {Options} */ options, /** @type {string} */ name) {
  const value = options[name];
  if (typeof value !== "string" || value === "") throw new UsageError(`this type needs --${name}`);
  return encodeURIComponent(value);
}

function positiveInteger(/** @type {unknown} */ value, /** @type {string} */ name) {
  const number = Number(value);
  if (!Number.isInteger(number) || number <= 0) throw new UsageError(`${name} must be a positive integer`);
  return number;
}

/** The events the simulator yields for the action, not forwarded to its own webhook. */
async function simulate(/** @type {string} */ simulator, /** @type {{ path: string, body: object }} */ action) {
  let response;
  try {
    response = await fetch(`${simulator}/__sim/${action.path}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ ...action.body, forward: false }),
    });
  } catch {
    throw new UsageError(
      `no Stripe simulator answers at ${simulator}: start it with \`npm run dev\` (it runs when .dev.vars has no real Stripe key), or pass --simulator URL`,
    );
  }
  const result = /** @type {{ events: { id: string, type: string }[], error?: { message: string } }} */ (
    await response.json().catch(() => ({ events: [] }))
  );
  if (!response.ok)
    throw new UsageError(`the simulator refused: ${result.error?.message ?? `HTTP ${response.status}`}`);
  return result.events;
}

/** The event in a file, sent byte for byte; it must be JSON so its id and type can be shown. */
function eventFromFile(/** @type {string} */ path) {
  let payload;
  try {
    payload = readFileSync(path, "utf8");
  } catch {
    throw new UsageError(`cannot read ${path}`);
  }
  try {
    const event = JSON.parse(payload);
    return { payload, id: String(event.id), type: String(event.type) };
  } catch {
    throw new UsageError(`${path} is not JSON`);
  }
}

async function main() {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      session: { type: "string" },
      subscription: { type: "string" },
      "payment-intent": { type: "string" },
      amount: { type: "string" },
      unpaid: { type: "boolean" },
      file: { type: "string" },
      worker: { type: "string", default: "http://127.0.0.1:8787/v1/billing/webhook" },
      simulator: { type: "string", default: "http://127.0.0.1:12111" },
      help: { type: "boolean" },
    },
  });
  if (values.help) return console.log(USAGE);

  const secret = process.env.STRIPE_WEBHOOK_SECRET || readDevVars().STRIPE_WEBHOOK_SECRET;
  if (!secret) throw new UsageError("no STRIPE_WEBHOOK_SECRET in the environment or in .dev.vars");

  /** @type {{ payload: string, id: string, type: string }[]} */
  let deliveries;
  if (values.file) {
    deliveries = [eventFromFile(values.file)];
  } else {
    const type = positionals[0];
    if (!type) throw new UsageError("name an event type, or pass --file");
    const action = Object.hasOwn(ACTIONS, type) ? ACTIONS[/** @type {keyof typeof ACTIONS} */ (type)] : undefined;
    if (!action) throw new UsageError(`unknown event type ${type}`);
    const events = await simulate(values.simulator.replace(/\/$/, ""), action(values));
    deliveries = events.map((event) => ({ payload: JSON.stringify(event, null, 2), id: event.id, type: event.type }));
  }

  let failed = false;
  for (const { payload, id, type } of deliveries) {
    const status = await deliverWebhook({ url: values.worker, secret }, payload).catch((error) => {
      throw new UsageError(`the Worker at ${values.worker} is unreachable (${error.cause?.code ?? error.message})`);
    });
    console.log(`${id} ${type} → HTTP ${status}`);
    failed ||= status >= 300;
  }
  if (failed) process.exitCode = 1;
}

main().catch((error) => {
  if (error instanceof UsageError) console.error(`stripe:event: ${error.message} (see --help)`);
  else if (String(error?.code).startsWith("ERR_PARSE_ARGS"))
    console.error(`stripe:event: ${error.message}\n\n${USAGE}`);
  else throw error;
  process.exit(1);
});
