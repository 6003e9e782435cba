// @ts-check
/**
 * A local simulator of the Stripe HTTP API endpoints Stratus uses, for integration tests and
 * an offline `npm run dev`. It is a test double of an external service: it answers what Stripe
 * would answer (shapes of API version 2026-10-28.endive, Stripe's errors, idempotency keys,
 * signed webhooks), and knows nothing of Stratus. State lives in memory, per server.
 *
 * Besides the Stripe API under /v1, it serves a control API under /__sim/ that plays the
 * customer's and the bank's part (complete a checkout, renew, fail a payment, refund…), and
 * small HTML pages standing in for Stripe Checkout, the customer portal and hosted invoices.
 */
import { createHmac, randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { createServer } from "node:http";

/** @import Stripe from "stripe" */
/** @import { IncomingMessage, ServerResponse } from "node:http" */

/**
 * @typedef {{ id: string, unit_amount: number, currency: string, product_name: string,
 *   recurring?: { interval: "month" | "year" } }} CatalogPrice
 * @typedef {{ url: string, secret: string }} Webhook
 * @typedef {{ url: string, port: number, close(): Promise<void> }} RunningSimulator
 * @typedef {Record<string, any>} Obj a Stripe object or a parsed request body
 * @typedef {{ status: number, body: string, headers?: Record<string, string> }} Reply
 * @typedef {{ method?: string, path_prefix: string, status: number, times: number,
 *   hostile?: "echo_headers" | "garbage" }} FailureRule a failure to inject; `hostile` plays an
 *   upstream that cannot be trusted: an error repeating the request's headers (the key included),
 *   or a 200 that is not JSON
 */
/**
 * The fields of a Stripe type, all optional and checked deeply: the objects built here carry a
 * subset of Stripe's fields, and each one produced must have Stripe's type.
 * @template T
 * @typedef {T extends object ? { [K in keyof T]?: Shape<T[K]> } : T} Shape
 */

export const API_VERSION = "2026-10-28.endive";

/** Stripe-Signature header value for a webhook payload: Stripe's v1 scheme (HMAC-SHA256 of "t.payload"). */
export function signatureHeader(/** @type {string} */ payload, /** @type {string} */ secret, timestampSeconds = now()) {
  const signature = createHmac("sha256", secret).update(`${timestampSeconds}.${payload}`).digest("hex");
  return `t=${timestampSeconds},v1=${signature}`;
}

/**
 * POSTs a webhook payload signed with the secret, as Stripe delivers it; answers the HTTP status.
 * @param {Webhook} webhook
 * @param {string} payload
 */
export async function deliverWebhook(webhook, payload) {
  const response = await fetch(webhook.url, {
    method: "POST",
    headers: {
      "content-type": "application/json; charset=utf-8",
      "stripe-signature": signatureHeader(payload, webhook.secret),
      "user-agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
    },
    body: payload,
    signal: AbortSignal.timeout(10_000),
  });
  await response.arrayBuffer();
  return response.status;
}

/** @returns {CatalogPrice[]} the dev/test price catalog, simulators/stripe-catalog.json */
export function loadCatalog() {
  return JSON.parse(readFileSync(new URL("./stripe-catalog.json", import.meta.url), "utf8"));
}

/**
 * The variables of a .dev.vars file: KEY=value lines, values optionally in single or double
 * quotes, full-line # comments. A missing file has none.
 * @returns {Record<string, string>}
 */
export function readDevVars(path = ".dev.vars") {
  let text;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    return {};
  }
  /** @type {Record<string, string>} */
  const vars = {};
  for (const line of text.split(/\r?\n/)) {
    const match = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$/.exec(line);
    if (!match?.[1] || match[2] === undefined) continue;
    const value = match[2];
    const quoted = value.length >= 2 && (value[0] === '"' || value[0] === "'") && value.at(-1) === value[0];
    vars[match[1]] = quoted ? value.slice(1, -1) : value;
  }
  return vars;
}

/**
 * Starts a simulator. With `webhook`, every event emitted (by the API or by a control action
 * that does not say `"forward": false`) is POSTed there signed, in order, in the background.
 * @param {{ port?: number, host?: string, catalog: CatalogPrice[], webhook?: Webhook }} options
 * @returns {Promise<RunningSimulator>}
 */
export async function startStripeSimulator({ port = 0, host = "127.0.0.1", catalog, webhook }) {
  const server = createServer();
  await new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve(undefined));
  });
  const address = server.address();
  if (!address || typeof address === "string") throw new Error("the Stripe simulator has no TCP address");
  const url = `http://${host.includes(":") ? `[${host}]` : host}:${address.port}`;

  const outbox = webhook ? new Outbox(webhook) : undefined;
  const stripe = new SimulatedStripe(catalog, url, (events) => outbox?.send(events));
  server.on("request", (request, response) => {
    serve(stripe, request, response).catch((error) => {
      console.error("stripe simulator:", error);
      if (!response.headersSent) response.writeHead(500).end();
    });
  });

  return {
    url,
    port: address.port,
    async close() {
      await new Promise((resolve) => {
        server.close(resolve);
        server.closeAllConnections();
      });
      await outbox?.drained();
    },
  };
}

/** Webhook deliveries, one at a time so the receiver sees events in emission order. */
class Outbox {
  /** @param {Webhook} webhook */
  constructor(webhook) {
    this.webhook = webhook;
    /** @type {Promise<void>} */
    this.queue = Promise.resolve();
  }

  /** @param {Obj[]} events */
  send(events) {
    for (const event of events) this.queue = this.queue.then(() => this.deliver(event));
  }

  /** @param {Obj} event */
  async deliver(event) {
    try {
      const status = await deliverWebhook(this.webhook, JSON.stringify(event, null, 2));
      if (status >= 300) console.error(`stripe simulator: webhook ${event.type} ${event.id} answered HTTP ${status}`);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      console.error(`stripe simulator: webhook ${event.type} ${event.id} to ${this.webhook.url} failed: ${reason}`);
    }
  }

  drained() {
    return this.queue;
  }
}

// ---------------------------------------------------------------------------------------------
// Errors, ids, time, request parameters
// ---------------------------------------------------------------------------------------------

/** An error Stripe would answer, in its shape: { error: { type, message, code?, param? } }. */
class StripeError extends Error {
  /** @param {number} status @param {string} message @param {{ type?: string, code?: string, param?: string }} [details] */
  constructor(status, message, { type = "invalid_request_error", code, param } = {}) {
    super(message);
    this.status = status;
    this.body = { error: { type, message, ...(code ? { code } : {}), ...(param ? { param } : {}) } };
  }
}

/** 400 for a bad parameter. */
const invalid = (/** @type {string} */ message, /** @type {string | undefined} */ param) =>
  new StripeError(400, message, { param });

/** "No such …": 404 for the resource in the path, 400 when the id came in a parameter. */
const noSuch = (/** @type {string} */ kind, /** @type {string} */ id, /** @type {string | undefined} */ param) =>
  new StripeError(param ? 400 : 404, `No such ${kind}: '${id}'`, { code: "resource_missing", param });

const ALPHANUMERIC = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/** A random Stripe-style id: the prefix, then 24 alphanumerics. */
function newId(/** @type {string} */ prefix) {
  return prefix + Array.from(randomBytes(24), (byte) => ALPHANUMERIC[byte % ALPHANUMERIC.length]).join("");
}

function now() {
  return Math.floor(Date.now() / 1000);
}

/** Adds calendar months in UTC, clamping the day (Jan 31 + 1 month = Feb 28), as Stripe bills. */
function addMonths(/** @type {number} */ seconds, /** @type {number} */ months) {
  const date = new Date(seconds * 1000);
  const day = date.getUTCDate();
  date.setUTCDate(1);
  date.setUTCMonth(date.getUTCMonth() + months);
  const daysInMonth = new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth() + 1, 0)).getUTCDate();
  date.setUTCDate(Math.min(day, daysInMonth));
  return Math.floor(date.getTime() / 1000);
}

const UNSAFE_KEYS = new Set(["__proto__", "constructor", "prototype"]);

/**
 * Parses Stripe's form encoding, which nests with brackets (`metadata[k]=v`,
 * `line_items[0][price]=p`, `expand[]=x`), into objects and arrays of strings.
 * @returns {Obj}
 */
function parseForm(/** @type {string} */ text) {
  /** @type {Obj} */
  const root = {};
  for (const [key, value] of new URLSearchParams(text)) {
    const path = key.replace(/\]/g, "").split("[");
    if (path[0] && !path.some((segment) => UNSAFE_KEYS.has(segment))) assign(root, path, value);
  }
  return root;
}

/** Sets root[a][b]… = value, creating an array where the next key is an index or `[]`. */
function assign(/** @type {Obj} */ root, /** @type {string[]} */ path, /** @type {string} */ value) {
  /** @type {any} */
  let node = root;
  path.forEach((segment, i) => {
    const key = segment === "" && Array.isArray(node) ? node.length : segment;
    const next = path[i + 1];
    if (next === undefined) node[key] = value;
    else node = node[key] ??= next === "" || /^\d+$/.test(next) ? [] : {};
  });
}

/** @returns {string | undefined} */
function stringParam(/** @type {unknown} */ value, /** @type {string} */ param, required = false) {
  if (value === undefined || value === "") {
    if (required) throw invalid(`Missing required param: ${param}.`, param);
    return undefined;
  }
  if (typeof value !== "string") throw invalid(`Invalid string: ${param}.`, param);
  return value;
}

function intParam(/** @type {unknown} */ value, /** @type {string} */ param, /** @type {number} */ fallback, min = 1) {
  if (value === undefined || value === "") return fallback;
  const number = Number(value);
  if (!Number.isInteger(number) || number < min) throw invalid(`Invalid integer: ${param}.`, param);
  return number;
}

/** @returns {boolean | undefined} */
function boolParam(/** @type {unknown} */ value, /** @type {string} */ param) {
  if (value === undefined) return undefined;
  if (value === true || value === "true") return true;
  if (value === false || value === "false") return false;
  throw invalid(`Invalid boolean: ${param}.`, param);
}

/** Metadata as Stripe takes it: string values; "" clears a key (or, for the whole object, all). */
function metadataParam(/** @type {unknown} */ value, /** @type {string} */ param) {
  if (value === undefined || value === "") return /** @type {Record<string, string>} */ ({});
  if (typeof value !== "object" || value === null || Array.isArray(value))
    throw invalid(`Invalid hash: ${param}.`, param);
  for (const [key, item] of Object.entries(value)) {
    if (typeof item !== "string") throw invalid(`Invalid string: ${param}[${key}].`, `${param}[${key}]`);
  }
  return /** @type {Record<string, string>} */ (value);
}

/** Stripe's update semantics for metadata: keys merge, an empty value removes its key. */
function mergeMetadata(/** @type {Record<string, string>} */ current, /** @type {unknown} */ update) {
  if (update === "") return {};
  const merged = { ...current, ...metadataParam(update, "metadata") };
  return Object.fromEntries(Object.entries(merged).filter(([, value]) => value !== ""));
}

/** Refuses the expansions the simulator does not implement, so a test relying on one finds out. */
function expansions(/** @type {Obj} */ params, /** @type {string[]} */ supported = []) {
  for (const path of params.expand === undefined ? [] : Object.values(params.expand)) {
    if (!supported.includes(path)) throw invalid(`This property cannot be expanded (${path}).`, "expand");
  }
}

/**
 * One page of a newest-first list, with Stripe's cursors (limit, starting_after, ending_before).
 * @param {Obj[]} items newest first
 * @param {Obj} params
 * @param {string} url
 * @param {string} kind
 */
function paginate(items, params, url, kind) {
  const limit = intParam(params.limit, "limit", 10);
  if (limit > 100) throw invalid("Invalid limit: must be at most 100.", "limit");
  if (params.starting_after && params.ending_before) {
    throw invalid("You may only specify one of these parameters: ending_before, starting_after.", "ending_before");
  }
  const indexOf = (/** @type {string} */ param) => {
    const index = items.findIndex((item) => item.id === params[param]);
    if (index < 0) throw noSuch(kind, params[param], param);
    return index;
  };
  if (params.ending_before) {
    const before = items.slice(0, indexOf("ending_before"));
    return list(before.slice(-limit), url, before.length > limit);
  }
  const rest = params.starting_after ? items.slice(indexOf("starting_after") + 1) : items;
  return list(rest.slice(0, limit), url, rest.length > limit);
}

function list(/** @type {Obj[]} */ data, /** @type {string} */ url, hasMore = false) {
  return { object: "list", data, has_more: hasMore, url };
}

// ---------------------------------------------------------------------------------------------
// The simulated Stripe account
// ---------------------------------------------------------------------------------------------

/** Objects keyed by id; each one is exactly what the API answers. */
class SimulatedStripe {
  /**
   * @param {CatalogPrice[]} catalog
   * @param {string} baseUrl where this server answers (Checkout, portal and invoice pages)
   * @param {(events: Obj[]) => void} forward sends events to the webhook, if there is one
   */
  constructor(catalog, baseUrl, forward) {
    this.baseUrl = baseUrl;
    this.forward = forward;
    this.created = now();
    /** @type {Map<string, string>} */
    this.productNames = new Map();
    this.prices = new Map(catalog.map((price) => [price.id, this.priceObject(price)]));
    /** @type {Map<string, Obj>} */ this.customers = new Map();
    /** @type {Map<string, Obj>} */ this.checkoutSessions = new Map();
    /** @type {Map<string, { lineItems: Obj[], subscriptionMetadata: Record<string, string> }>} */
    this.checkoutDetails = new Map();
    /** @type {Map<string, Obj>} */ this.portalSessions = new Map();
    /** @type {Map<string, Obj>} */ this.subscriptions = new Map();
    /**
     * Where each subscription is in its billing cycle. Stripe counts periods from an anchor,
     * so a subscription started on Jan 31 renews on Feb 28, then Mar 31.
     * @type {Map<string, { anchor: number, months: number, index: number }>}
     */
    this.cycles = new Map();
    /** @type {Map<string, Obj>} insertion order is creation order */ this.invoices = new Map();
    /** @type {Map<string, Obj>} */ this.paymentIntents = new Map();
    /** @type {Map<string, Obj>} */ this.charges = new Map();
    /** @type {Obj[]} */ this.events = [];
    /** @type {FailureRule[]} */ this.failureRules = [];
    /** @type {Map<string, { fingerprint: string, reply: Reply }>} */ this.idempotentReplies = new Map();
    this.invoicePrefix = newId("").slice(0, 8).toUpperCase();
    this.invoiceCount = 0;
  }

  /** @param {CatalogPrice} price */
  priceObject(price) {
    if (!price.id || !Number.isInteger(price.unit_amount) || !price.currency || !price.product_name) {
      throw new Error(`Stripe simulator catalog: bad price ${JSON.stringify(price)}`);
    }
    if (price.recurring && !["month", "year"].includes(price.recurring.interval)) {
      throw new Error(`Stripe simulator catalog: ${price.id} recurs by month or year`);
    }
    const product = `prod_${price.product_name.toLowerCase().replace(/[^a-z0-9]+/g, "_")}`;
    this.productNames.set(product, price.product_name);
    return /** @satisfies {Shape<Stripe.Price>} */ ({
      id: price.id,
      object: "price",
      active: true,
      billing_scheme: "per_unit",
      created: this.created,
      currency: price.currency,
      livemode: false,
      lookup_key: null,
      metadata: {},
      nickname: null,
      product,
      recurring: price.recurring
        ? {
            interval: price.recurring.interval,
            interval_count: 1,
            meter: null,
            trial_period_days: null,
            usage_type: "licensed",
          }
        : null,
      tax_behavior: "unspecified",
      type: price.recurring ? "recurring" : "one_time",
      unit_amount: price.unit_amount,
      unit_amount_decimal: String(price.unit_amount),
    });
  }

  // --- lookups -------------------------------------------------------------------------------

  /** @param {Map<string, Obj>} map @param {string} kind @param {unknown} id @param {string} [param] */
  find(map, kind, id, param) {
    const object = typeof id === "string" ? map.get(id) : undefined;
    if (!object) throw noSuch(kind, String(id), param);
    return object;
  }

  /** @param {unknown} id @param {string} [param] the parameter that named it, if any */
  price(id, param) {
    return /** @type {Obj} */ (this.find(this.prices, "price", id, param));
  }

  /** @param {unknown} id @param {string} [param] the parameter that named it, if any */
  customer(id, param) {
    return this.find(this.customers, "customer", id, param);
  }

  checkoutSession(/** @type {unknown} */ id) {
    return this.find(this.checkoutSessions, "checkout.session", id);
  }

  subscription(/** @type {unknown} */ id) {
    return this.find(this.subscriptions, "subscription", id);
  }

  invoice(/** @type {unknown} */ id) {
    return this.find(this.invoices, "invoice", id);
  }

  productName(/** @type {Obj} */ price) {
    return this.productNames.get(price.product) ?? price.product;
  }

  /** Events name the customer of their object. */
  eventsOf(/** @type {string | undefined} */ customer) {
    return customer ? this.events.filter((event) => event.data.object.customer === customer) : this.events;
  }

  // --- events --------------------------------------------------------------------------------

  /**
   * Records an event carrying a copy of the object as it is now; `before` (a copy taken before
   * an update) yields Stripe's previous_attributes.
   * @param {string} type @param {Obj} object @param {Obj} [before]
   */
  emit(type, object, before) {
    const event = {
      id: newId("evt_"),
      object: "event",
      api_version: API_VERSION,
      created: now(),
      data: {
        object: structuredClone(object),
        ...(before ? { previous_attributes: changedFrom(before, object) } : {}),
      },
      livemode: false,
      pending_webhooks: 1,
      request: { id: null, idempotency_key: null },
      type,
    };
    this.events.push(event);
    return event;
  }

  // --- customers, Checkout, portal ---------------------------------------------------------

  createCustomer(/** @type {Obj} */ params) {
    const customer = /** @satisfies {Shape<Stripe.Customer>} */ ({
      id: newId("cus_"),
      object: "customer",
      balance: 0,
      created: now(),
      currency: null,
      delinquent: false,
      description: stringParam(params.description, "description") ?? null,
      email: stringParam(params.email, "email") ?? null,
      invoice_prefix: newId("").slice(0, 8).toUpperCase(),
      livemode: false,
      metadata: metadataParam(params.metadata, "metadata"),
      name: stringParam(params.name, "name") ?? null,
      phone: null,
      preferred_locales: [],
      tax_exempt: "none",
    });
    this.customers.set(customer.id, customer);
    return customer;
  }

  createCheckoutSession(/** @type {Obj} */ params) {
    const mode = stringParam(params.mode, "mode", true);
    if (mode !== "payment" && mode !== "subscription") {
      throw invalid("The simulator supports mode `payment` and `subscription`.", "mode");
    }
    const customer = this.customer(stringParam(params.customer, "customer", true), "customer").id;
    const lineItems = this.checkoutLineItems(params.line_items, mode);
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
      url: `${this.baseUrl}/checkout/${id}`,
    });
    this.checkoutSessions.set(id, session);
    this.checkoutDetails.set(id, {
      lineItems,
      subscriptionMetadata: metadataParam(params.subscription_data?.metadata, "subscription_data[metadata]"),
    });
    return session;
  }

  /** The session's line items, as Checkout lists them; one recurring price in subscription mode. */
  checkoutLineItems(/** @type {unknown} */ param, /** @type {"payment" | "subscription"} */ mode) {
    if (!Array.isArray(param) || param.length === 0) throw invalid("Missing required param: line_items.", "line_items");
    if (mode === "subscription" && param.length > 1) {
      throw invalid("The simulator supports one line item in subscription mode.", "line_items");
    }
    const items = param.map((item, i) => {
      const price = this.price(stringParam(item?.price, `line_items[${i}][price]`, true), `line_items[${i}][price]`);
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
        description: this.productName(price),
        price,
        quantity,
      });
    });
    if (new Set(items.map((item) => item.currency)).size > 1) {
      throw invalid("All line items must share one currency.", "line_items");
    }
    return items;
  }

  /** @param {string} id @param {Obj} params */
  retrieveCheckoutSession(id, params) {
    const session = this.checkoutSession(id);
    const expanded = params.expand !== undefined && Object.values(params.expand).includes("line_items");
    return expanded ? { ...session, line_items: this.lineItemsOf(id) } : session;
  }

  /** GET /v1/checkout/sessions: newest first, filtered by customer and status (one page). */
  listCheckoutSessions(/** @type {Obj} */ params) {
    const limit = intParam(params.limit, "limit", 10);
    const sessions = [...this.checkoutSessions.values()]
      .filter((session) => params.customer === undefined || session.customer === params.customer)
      .filter((session) => params.status === undefined || session.status === params.status)
      .reverse();
    return list(sessions.slice(0, limit), "/v1/checkout/sessions", sessions.length > limit);
  }

  /** POST /v1/checkout/sessions/:id/expire: an open session can no longer be paid. */
  expireCheckoutSession(/** @type {string} */ id) {
    const session = this.checkoutSession(id);
    if (session.status !== "open") {
      throw invalid(`Only Checkout Sessions with a status in ["open"] can be expired.`, undefined);
    }
    session.status = "expired";
    return session;
  }

  lineItemsOf(/** @type {string} */ id) {
    this.checkoutSession(id);
    return list(this.checkoutDetails.get(id)?.lineItems ?? [], `/v1/checkout/sessions/${id}/line_items`);
  }

  createPortalSession(/** @type {Obj} */ params) {
    const customer = this.customer(stringParam(params.customer, "customer", true), "customer").id;
    const id = newId("bps_");
    const session = /** @satisfies {Shape<Stripe.BillingPortal.Session>} */ ({
      id,
      object: "billing_portal.session",
      created: now(),
      customer,
      livemode: false,
      locale: null,
      on_behalf_of: null,
      return_url: stringParam(params.return_url, "return_url") ?? null,
      url: `${this.baseUrl}/portal/${id}`,
    });
    this.portalSessions.set(id, session);
    return session;
  }

  // --- the customer pays ---------------------------------------------------------------------

  /** The customer finishes Checkout: a payment, or a new subscription with its first invoice. */
  completeCheckout(/** @type {string} */ id, { paid = true } = {}) {
    const session = this.checkoutSession(id);
    if (session.status !== "open") throw invalid(`Checkout session ${id} is already ${session.status}.`, undefined);
    if (session.mode === "subscription" && !paid) {
      throw invalid("The simulator completes subscription checkouts paid only.", "paid");
    }
    session.status = "complete";
    if (session.mode === "payment") {
      const paymentIntent = this.createPaymentIntent(session);
      const charge = paid ? this.createCharge(paymentIntent) : undefined;
      session.payment_intent = paymentIntent.id;
      session.payment_status = paid ? "paid" : "unpaid";
      return {
        events: [this.emit("checkout.session.completed", session)],
        checkout_session: session,
        payment_intent: paymentIntent,
        charge,
      };
    }
    const subscription = this.createSubscription(session);
    const invoice = this.createInvoice(subscription, "subscription_create", {
      lines: [this.fullPeriodLine(subscription)],
      paid: true,
    });
    subscription.latest_invoice = invoice.id;
    Object.assign(session, { subscription: subscription.id, invoice: invoice.id, payment_status: "paid" });
    const events = [
      this.emit("checkout.session.completed", session),
      this.emit("customer.subscription.created", subscription),
      this.emit("invoice.paid", invoice),
    ];
    return { events, checkout_session: session, subscription, invoice };
  }

  /** A delayed payment method (a bank debit) settles or fails after Checkout completed unpaid. */
  settleAsyncPayment(/** @type {string} */ id, { succeeded = true } = {}) {
    const session = this.checkoutSession(id);
    const paymentIntent = session.payment_intent ? this.paymentIntents.get(session.payment_intent) : undefined;
    if (session.status !== "complete" || paymentIntent?.status !== "processing") {
      throw invalid(`Checkout session ${id} has no payment in progress.`, undefined);
    }
    if (!succeeded) {
      paymentIntent.status = "requires_payment_method";
      return { events: [this.emit("checkout.session.async_payment_failed", session)], checkout_session: session };
    }
    const charge = this.createCharge(paymentIntent);
    session.payment_status = "paid";
    return {
      events: [this.emit("checkout.session.async_payment_succeeded", session)],
      checkout_session: session,
      payment_intent: paymentIntent,
      charge,
    };
  }

  /** A payment in progress; createCharge settles it. */
  createPaymentIntent(/** @type {Obj} */ session) {
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
    this.paymentIntents.set(paymentIntent.id, paymentIntent);
    return paymentIntent;
  }

  createCharge(/** @type {Obj} */ paymentIntent) {
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
    this.charges.set(charge.id, charge);
    Object.assign(paymentIntent, { status: "succeeded", amount_received: charge.amount, latest_charge: charge.id });
    return charge;
  }

  /** Refunds part of a payment (by default what is left); the charge's amount_refunded accumulates. */
  refund(/** @type {string} */ paymentIntentId, /** @type {{ amount?: unknown }} */ { amount } = {}) {
    const paymentIntent = this.find(this.paymentIntents, "payment_intent", paymentIntentId);
    const charge = this.charges.get(paymentIntent.latest_charge);
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
    return { events: [this.emit("charge.refunded", charge)], charge, refund };
  }

  // --- subscriptions ---------------------------------------------------------------------------

  createSubscription(/** @type {Obj} */ checkoutSession) {
    const details = this.checkoutDetails.get(checkoutSession.id);
    const lineItem = details?.lineItems[0];
    if (!details || !lineItem) throw new Error(`checkout session ${checkoutSession.id} has no line item`);
    const id = newId("sub_");
    const start = now();
    const cycle = { anchor: start, months: intervalMonths(lineItem.price), index: 0 };
    this.cycles.set(id, cycle);
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
    this.subscriptions.set(id, subscription);
    return subscription;
  }

  /** A subscription that may still change: canceled ones only answer 400. */
  liveSubscription(/** @type {unknown} */ id) {
    const subscription = this.subscription(id);
    if (subscription.status === "canceled") {
      throw invalid(
        `Subscription ${subscription.id} is canceled; a canceled subscription cannot be updated.`,
        undefined,
      );
    }
    return subscription;
  }

  cycleOf(/** @type {Obj} */ subscription) {
    const cycle = this.cycles.get(subscription.id);
    if (!cycle) throw new Error(`subscription ${subscription.id} has no billing cycle`);
    return cycle;
  }

  /** POST /v1/subscriptions/:id: cancel_at_period_end, metadata, and a price change with prorations. */
  updateSubscription(/** @type {string} */ id, /** @type {Obj} */ params) {
    const subscription = this.liveSubscription(id);
    const before = structuredClone(subscription);
    const prorationBehavior = params.proration_behavior ?? "create_prorations";
    if (!["create_prorations", "always_invoice", "none"].includes(prorationBehavior)) {
      throw invalid(`Invalid proration_behavior: ${prorationBehavior}.`, "proration_behavior");
    }
    const newPrice = this.requestedPrice(subscription, params.items);
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
    const invoice = newPrice ? this.changePrice(subscription, newPrice, prorationBehavior) : undefined;

    const changed = Object.keys(changedFrom(before, subscription)).length > 0;
    const events = changed ? [this.emit("customer.subscription.updated", subscription, before)] : [];
    if (invoice) events.push(this.emit("invoice.paid", invoice));
    return { events, subscription, invoice };
  }

  /** The price `items[0]` asks for, if it differs from the subscription's. */
  requestedPrice(/** @type {Obj} */ subscription, /** @type {unknown} */ items) {
    if (items === undefined) return undefined;
    const requested = Array.isArray(items) ? items[0] : undefined;
    const item = subscription.items.data[0];
    if (!requested || requested.id !== item.id) {
      throw invalid(`The simulator updates the subscription's one item: pass items[0][id]=${item.id}.`, "items[0][id]");
    }
    if (requested.price === undefined) return undefined;
    const price = this.price(requested.price, "items[0][price]");
    if (!price.recurring) throw invalid("The price on a subscription item must be recurring.", "items[0][price]");
    return price.id === item.price.id ? undefined : price;
  }

  /**
   * Switches the price. Prorations credit the unused time on the old price and charge the rest
   * of the period on the new one, invoiced (and paid) at once; a change of interval restarts the
   * billing cycle today and charges a whole new period, as Stripe does.
   * @returns {Obj | undefined} the invoice, unless proration_behavior is "none"
   */
  changePrice(/** @type {Obj} */ subscription, /** @type {Obj} */ price, /** @type {string} */ prorationBehavior) {
    const item = subscription.items.data[0];
    const at = now();
    const unused = remainingFraction(item, at);
    const credit = this.invoiceLine(subscription, item, {
      amount: -Math.round(item.price.unit_amount * item.quantity * unused),
      description: `Unused time on ${this.productName(item.price)} after ${day(at)}`,
      period: { start: at, end: item.current_period_end },
      proration: true,
    });
    const intervalChanged = price.recurring.interval !== item.price.recurring.interval;
    item.price = price;
    if (intervalChanged) {
      const cycle = { anchor: at, months: intervalMonths(price), index: 0 };
      this.cycles.set(subscription.id, cycle);
      Object.assign(item, { current_period_start: periodStart(cycle), current_period_end: periodEnd(cycle) });
      subscription.billing_cycle_anchor = at;
      if (subscription.cancel_at_period_end) subscription.cancel_at = item.current_period_end;
    }
    if (prorationBehavior === "none") return undefined;
    const charge = intervalChanged
      ? this.fullPeriodLine(subscription)
      : this.invoiceLine(subscription, item, {
          amount: Math.round(price.unit_amount * item.quantity * unused),
          description: `Remaining time on ${this.productName(price)} after ${day(at)}`,
          period: { start: at, end: item.current_period_end },
          proration: true,
        });
    const invoice = this.createInvoice(subscription, "subscription_update", { lines: [credit, charge], paid: true });
    subscription.latest_invoice = invoice.id;
    return invoice;
  }

  /** DELETE /v1/subscriptions/:id: ends it now. */
  cancelSubscription(/** @type {string} */ id) {
    const subscription = this.liveSubscription(id);
    const at = now();
    Object.assign(subscription, {
      status: "canceled",
      canceled_at: subscription.canceled_at ?? at,
      ended_at: at,
      cancellation_details: { comment: null, feedback: null, reason: "cancellation_requested" },
    });
    return { events: [this.emit("customer.subscription.deleted", subscription)], subscription };
  }

  /** The period ends: the next one is invoiced and paid, or, when cancel_at_period_end, it ends. */
  renew(/** @type {string} */ id) {
    const subscription = this.liveSubscription(id);
    if (this.openInvoiceOf(subscription)) {
      throw invalid(`Subscription ${id} has an open invoice: recover it (or fail it again) first.`, undefined);
    }
    if (subscription.cancel_at_period_end) {
      Object.assign(subscription, { status: "canceled", ended_at: now() });
      return { events: [this.emit("customer.subscription.deleted", subscription)], subscription };
    }
    const before = structuredClone(subscription);
    const item = subscription.items.data[0];
    const previousPeriod = { start: item.current_period_start, end: item.current_period_end };
    this.advancePeriod(subscription);
    const invoice = this.createInvoice(subscription, "subscription_cycle", {
      lines: [this.fullPeriodLine(subscription)],
      paid: true,
      period: previousPeriod,
    });
    subscription.latest_invoice = invoice.id;
    const events = [
      this.emit("customer.subscription.updated", subscription, before),
      this.emit("invoice.paid", invoice),
    ];
    return { events, subscription, invoice };
  }

  /**
   * The renewal payment fails: an open invoice for the next period, the subscription past_due,
   * its period unchanged until the invoice is paid. Failing again counts one more attempt.
   */
  failPayment(/** @type {string} */ id) {
    const subscription = this.liveSubscription(id);
    if (subscription.cancel_at_period_end) {
      throw invalid(`Subscription ${id} ends at its period end: there is no renewal to fail.`, undefined);
    }
    const open = this.openInvoiceOf(subscription);
    if (open) {
      open.attempt_count += 1;
      open.next_payment_attempt = now() + 3 * 24 * 60 * 60;
      return { events: [this.emit("invoice.payment_failed", open)], subscription, invoice: open };
    }
    const before = structuredClone(subscription);
    const item = subscription.items.data[0];
    const cycle = this.cycleOf(subscription);
    const next = { ...cycle, index: cycle.index + 1 };
    const line = this.invoiceLine(subscription, item, {
      amount: item.price.unit_amount * item.quantity,
      description: `${item.quantity} × ${this.productName(item.price)}`,
      period: { start: periodStart(next), end: periodEnd(next) },
      proration: false,
    });
    const invoice = this.createInvoice(subscription, "subscription_cycle", {
      lines: [line],
      paid: false,
      period: { start: item.current_period_start, end: item.current_period_end },
    });
    Object.assign(subscription, { status: "past_due", latest_invoice: invoice.id });
    const events = [
      this.emit("invoice.payment_failed", invoice),
      this.emit("customer.subscription.updated", subscription, before),
    ];
    return { events, subscription, invoice };
  }

  /** The open renewal invoice gets paid: the subscription moves to the period it paid for. */
  recover(/** @type {string} */ id) {
    const subscription = this.liveSubscription(id);
    const invoice = this.openInvoiceOf(subscription);
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
    this.advancePeriod(subscription);
    subscription.status = "active";
    const events = [
      this.emit("invoice.paid", invoice),
      this.emit("customer.subscription.updated", subscription, before),
    ];
    return { events, subscription, invoice };
  }

  advancePeriod(/** @type {Obj} */ subscription) {
    const cycle = this.cycleOf(subscription);
    cycle.index += 1;
    Object.assign(subscription.items.data[0], {
      current_period_start: periodStart(cycle),
      current_period_end: periodEnd(cycle),
    });
  }

  openInvoiceOf(/** @type {Obj} */ subscription) {
    return [...this.invoices.values()].find(
      (invoice) => invoice.status === "open" && invoice.parent.subscription_details.subscription === subscription.id,
    );
  }

  // --- invoices ------------------------------------------------------------------------------

  /** A line charging the subscription's current period in full. */
  fullPeriodLine(/** @type {Obj} */ subscription) {
    const item = subscription.items.data[0];
    return this.invoiceLine(subscription, item, {
      amount: item.price.unit_amount * item.quantity,
      description: `${item.quantity} × ${this.productName(item.price)}`,
      period: { start: item.current_period_start, end: item.current_period_end },
      proration: false,
    });
  }

  /**
   * @param {Obj} subscription @param {Obj} item
   * @param {{ amount: number, description: string, period: { start: number, end: number }, proration: boolean }} line
   */
  invoiceLine(subscription, item, { amount, description, period, proration }) {
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
   * @param {Obj} subscription @param {string} billingReason
   * @param {{ lines: Obj[], paid: boolean, period?: { start: number, end: number } }} options
   */
  createInvoice(subscription, billingReason, { lines, paid, period }) {
    const id = newId("in_");
    const created = now();
    const total = sum(lines.map((line) => line.amount));
    const amountDue = Math.max(0, total);
    for (const line of lines) line.invoice = id;
    this.invoiceCount += 1;
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
      hosted_invoice_url: `${this.baseUrl}/invoices/${id}`,
      // The simulator renders no PDF: the hosted page stands in for it.
      invoice_pdf: `${this.baseUrl}/invoices/${id}`,
      lines: { object: "list", data: lines, has_more: false, url: `/v1/invoices/${id}/lines` },
      livemode: false,
      metadata: {},
      next_payment_attempt: paid ? null : created + 3 * 24 * 60 * 60,
      number: `${this.invoicePrefix}-${String(this.invoiceCount).padStart(4, "0")}`,
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
    this.invoices.set(id, invoice);
    return invoice;
  }

  listInvoices(/** @type {Obj} */ params) {
    const customer = stringParam(params.customer, "customer");
    const subscription = stringParam(params.subscription, "subscription");
    const matching = [...this.invoices.values()]
      .reverse()
      .filter((invoice) => !customer || invoice.customer === customer)
      .filter((invoice) => !subscription || invoice.parent.subscription_details.subscription === subscription);
    return paginate(matching, params, "/v1/invoices", "invoice");
  }

  // --- the HTTP surface ----------------------------------------------------------------------

  /**
   * Sends an action's events to the webhook and answers the action's result.
   * @template {{ events: Obj[] }} R
   * @param {R} result
   */
  publish(result) {
    this.forward(result.events);
    return result;
  }
}

/** The fields of `after` that differ from `before`, with their values before (previous_attributes). */
function changedFrom(/** @type {Obj} */ before, /** @type {Obj} */ after) {
  const keys = Object.keys(after).filter((key) => JSON.stringify(before[key]) !== JSON.stringify(after[key]));
  return Object.fromEntries(keys.map((key) => [key, before[key]]));
}

const sum = (/** @type {number[]} */ amounts) => amounts.reduce((total, amount) => total + amount, 0);
const intervalMonths = (/** @type {Obj} */ price) => (price.recurring.interval === "year" ? 12 : 1);
const periodStart = (/** @type {{ anchor: number, months: number, index: number }} */ cycle) =>
  addMonths(cycle.anchor, cycle.index * cycle.months);
const periodEnd = (/** @type {{ anchor: number, months: number, index: number }} */ cycle) =>
  addMonths(cycle.anchor, (cycle.index + 1) * cycle.months);
const day = (/** @type {number} */ seconds) => new Date(seconds * 1000).toISOString().slice(0, 10);

/** The share of the item's current period still ahead at `at`, between 0 and 1. */
function remainingFraction(/** @type {Obj} */ item, /** @type {number} */ at) {
  const length = item.current_period_end - item.current_period_start;
  return length > 0 ? Math.min(1, Math.max(0, (item.current_period_end - at) / length)) : 0;
}

// ---------------------------------------------------------------------------------------------
// HTTP: the Stripe API (/v1), the control API (/__sim), the pages
// ---------------------------------------------------------------------------------------------

/**
 * A route: method, path (its groups are the ids), handler, and the expansions it implements
 * (the simulator refuses others, so a test relying on one finds out).
 * @typedef {(stripe: SimulatedStripe, params: Obj, ...ids: string[]) => unknown} Handler
 * @typedef {[method: string, path: RegExp, handler: Handler, expandable?: string[]]} Route
 * @type {Route[]}
 */
const API_ROUTES = [
  ["POST", /^\/v1\/customers$/, (s, params) => s.createCustomer(params)],
  ["GET", /^\/v1\/customers\/([^/]+)$/, (s, _params, id) => s.customer(id)],
  ["POST", /^\/v1\/checkout\/sessions$/, (s, params) => s.createCheckoutSession(params)],
  [
    "GET",
    /^\/v1\/checkout\/sessions\/([^/]+)$/,
    (s, params, id = "") => s.retrieveCheckoutSession(id, params),
    ["line_items"],
  ],
  ["GET", /^\/v1\/checkout\/sessions\/([^/]+)\/line_items$/, (s, _params, id = "") => s.lineItemsOf(id)],
  ["GET", /^\/v1\/checkout\/sessions$/, (s, params) => s.listCheckoutSessions(params)],
  ["POST", /^\/v1\/checkout\/sessions\/([^/]+)\/expire$/, (s, _params, id = "") => s.expireCheckoutSession(id)],
  ["POST", /^\/v1\/billing_portal\/sessions$/, (s, params) => s.createPortalSession(params)],
  ["GET", /^\/v1\/subscriptions\/([^/]+)$/, (s, _params, id) => s.subscription(id)],
  [
    "POST",
    /^\/v1\/subscriptions\/([^/]+)$/,
    (s, params, id = "") => s.publish(s.updateSubscription(id, params)).subscription,
  ],
  [
    "DELETE",
    /^\/v1\/subscriptions\/([^/]+)$/,
    (s, _params, id = "") => s.publish(s.cancelSubscription(id)).subscription,
  ],
  ["GET", /^\/v1\/invoices$/, (s, params) => s.listInvoices(params)],
  ["GET", /^\/v1\/invoices\/([^/]+)$/, (s, _params, id) => s.invoice(id)],
  ["GET", /^\/v1\/prices\/([^/]+)$/, (s, _params, id) => s.price(id)],
];

/**
 * Control actions answer { events, …objects } and forward the events unless `"forward": false`.
 * @type {Route[]}
 */
const CONTROL_ROUTES = [
  [
    "POST",
    /^\/__sim\/checkout_sessions\/([^/]+)\/complete$/,
    (s, body, id = "") => s.completeCheckout(id, { paid: boolParam(body.paid, "paid") }),
  ],
  [
    "POST",
    /^\/__sim\/checkout_sessions\/([^/]+)\/async_payment$/,
    (s, body, id = "") => s.settleAsyncPayment(id, { succeeded: boolParam(body.succeeded, "succeeded") }),
  ],
  ["POST", /^\/__sim\/subscriptions\/([^/]+)\/renew$/, (s, _body, id = "") => s.renew(id)],
  ["POST", /^\/__sim\/subscriptions\/([^/]+)\/payment_failed$/, (s, _body, id = "") => s.failPayment(id)],
  ["POST", /^\/__sim\/subscriptions\/([^/]+)\/recover$/, (s, _body, id = "") => s.recover(id)],
  ["POST", /^\/__sim\/subscriptions\/([^/]+)\/cancel$/, (s, _body, id = "") => s.cancelSubscription(id)],
  ["POST", /^\/__sim\/payment_intents\/([^/]+)\/refund$/, (s, body, id = "") => s.refund(id, { amount: body.amount })],
];

/** @param {SimulatedStripe} stripe @param {IncomingMessage} request @param {ServerResponse} response */
async function serve(stripe, request, response) {
  const url = new URL(request.url ?? "/", stripe.baseUrl);
  const body = await readBody(request);
  const method = request.method ?? "GET";
  /** @type {Reply} */
  let reply;
  try {
    if (url.pathname.startsWith("/v1/")) reply = answerApi(stripe, method, url, body, request.headers);
    else if (url.pathname.startsWith("/__sim/")) reply = answerControl(stripe, method, url, body);
    else reply = answerPage(stripe, method, url);
  } catch (error) {
    if (!(error instanceof StripeError)) throw error;
    reply = json(error.status, error.body);
  }
  response.writeHead(reply.status, reply.headers).end(reply.body);
}

async function readBody(/** @type {IncomingMessage} */ request) {
  const chunks = [];
  for await (const chunk of request) chunks.push(chunk);
  return Buffer.concat(chunks).toString("utf8");
}

/** @returns {Reply} */
function json(
  /** @type {number} */ status,
  /** @type {unknown} */ value,
  /** @type {Record<string, string>} */ headers = {},
) {
  return { status, body: JSON.stringify(value, null, 2), headers: { "content-type": "application/json", ...headers } };
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

/**
 * Stripe's API: a test-mode key, injected failures, idempotent replays, then the route.
 * @param {SimulatedStripe} stripe @param {string} method @param {URL} url @param {string} body
 * @param {import("node:http").IncomingHttpHeaders} headers
 * @returns {Reply}
 */
function answerApi(stripe, method, url, body, headers) {
  const requestId = { "request-id": newId("req_") };
  const key = /^Bearer (sk_test_\S+)$/.exec(headers.authorization ?? "")?.[1];
  if (!key) {
    return json(
      401,
      {
        error: {
          type: "invalid_request_error",
          message: "Invalid API Key provided: the Stripe simulator accepts any test-mode key (Bearer sk_test_…).",
        },
      },
      requestId,
    );
  }
  const failure = takeFailure(stripe, method, url.pathname);
  if (failure?.hostile === "garbage") {
    return { status: 200, body: "<html>upstream gone wrong</html>", headers: { "content-type": "application/json" } };
  }
  if (failure) {
    const message =
      failure.hostile === "echo_headers"
        ? `Simulated failure; received headers: ${JSON.stringify(headers)}`
        : "Simulated failure (injected with /__sim/fail_next).";
    const type = failure.status < 500 ? "invalid_request_error" : "api_error";
    return json(failure.status, { error: { type, message } }, requestId);
  }

  const idempotencyKey = method === "POST" ? headers["idempotency-key"] : undefined;
  if (typeof idempotencyKey === "string") {
    const fingerprint = `${method} ${url.pathname}?${url.search} ${body}`;
    const stored = stripe.idempotentReplies.get(idempotencyKey);
    if (stored && stored.fingerprint !== fingerprint) {
      return json(
        400,
        {
          error: {
            type: "idempotency_error",
            message: `Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '${idempotencyKey}' if you meant to execute a different request.`,
          },
        },
        requestId,
      );
    }
    if (stored)
      return { ...stored.reply, headers: { ...stored.reply.headers, ...requestId, "idempotent-replayed": "true" } };
    // Requests are handled synchronously from here on, so a concurrent repeat sees this reply.
    const reply = routeApi(stripe, method, url, body, requestId);
    stripe.idempotentReplies.set(idempotencyKey, { fingerprint, reply });
    return reply;
  }
  return routeApi(stripe, method, url, body, requestId);
}

/** @returns {Reply} */
function routeApi(
  /** @type {SimulatedStripe} */ stripe,
  /** @type {string} */ method,
  /** @type {URL} */ url,
  /** @type {string} */ body,
  /** @type {Record<string, string>} */ headers,
) {
  const route = matchRoute(API_ROUTES, method, url.pathname);
  if (!route) {
    return json(
      404,
      {
        error: { type: "invalid_request_error", message: `Unrecognized request URL (${method}: ${url.pathname}).` },
      },
      headers,
    );
  }
  try {
    const params = { ...parseForm(url.search.slice(1)), ...parseForm(body) };
    expansions(params, route.expandable);
    return json(200, route.handler(stripe, params, ...route.ids), headers);
  } catch (error) {
    if (error instanceof StripeError) return json(error.status, error.body, headers);
    throw error;
  }
}

/** The first rule of /__sim/fail_next matching this request, counted down. */
function takeFailure(/** @type {SimulatedStripe} */ stripe, /** @type {string} */ method, /** @type {string} */ path) {
  const rule = stripe.failureRules.find(
    (candidate) => (!candidate.method || candidate.method === method) && path.startsWith(candidate.path_prefix),
  );
  if (!rule) return undefined;
  rule.times -= 1;
  if (rule.times === 0) stripe.failureRules.splice(stripe.failureRules.indexOf(rule), 1);
  return rule;
}

/**
 * @param {Route[]} routes @param {string} method @param {string} path
 * @returns {{ handler: Handler, ids: string[], expandable?: string[] } | undefined}
 */
function matchRoute(routes, method, path) {
  for (const [routeMethod, pattern, handler, expandable] of routes) {
    const match = routeMethod === method ? pattern.exec(path) : null;
    if (match) return { handler, ids: match.slice(1).map((id) => decodeURIComponent(id ?? "")), expandable };
  }
  return undefined;
}

/** @returns {Reply} */
function answerControl(
  /** @type {SimulatedStripe} */ stripe,
  /** @type {string} */ method,
  /** @type {URL} */ url,
  /** @type {string} */ text,
) {
  const query = Object.fromEntries(url.searchParams);
  if (method === "GET" && url.pathname === "/__sim/events") return json(200, { data: stripe.eventsOf(query.customer) });
  if (method === "GET" && url.pathname === "/__sim/customers") {
    const customers = [...stripe.customers.values()];
    return json(200, {
      data: customers.filter((c) => !query.account_id || c.metadata.account_id === query.account_id),
    });
  }
  const body = parseJsonBody(text);
  if (method === "POST" && url.pathname === "/__sim/fail_next")
    return json(200, { rule: addFailureRule(stripe, body) });
  const route = matchRoute(CONTROL_ROUTES, method, url.pathname);
  if (!route) throw new StripeError(404, `Unrecognized control request (${method}: ${url.pathname}).`);
  const forward = boolParam(body.forward, "forward") !== false;
  const result = /** @type {{ events: Obj[] }} */ (route.handler(stripe, body, ...route.ids));
  if (forward) stripe.publish(result);
  return json(200, result);
}

/** @returns {Obj} */
function parseJsonBody(/** @type {string} */ text) {
  if (text.trim() === "") return {};
  try {
    const value = JSON.parse(text);
    if (typeof value === "object" && value !== null && !Array.isArray(value)) return value;
  } catch {
    // answered below
  }
  throw invalid("The control API takes a JSON object body.", undefined);
}

/** POST /__sim/fail_next { method?, path_prefix, status = 500, times = 1, hostile? } */
function addFailureRule(/** @type {SimulatedStripe} */ stripe, /** @type {Obj} */ body) {
  const pathPrefix = stringParam(body.path_prefix, "path_prefix", true) ?? "";
  if (!pathPrefix.startsWith("/v1/")) throw invalid("path_prefix must start with /v1/.", "path_prefix");
  const status = intParam(body.status, "status", 500, 400);
  if (status > 599) throw invalid("status must be between 400 and 599.", "status");
  const method = stringParam(body.method, "method")?.toUpperCase();
  const hostile = stringParam(body.hostile, "hostile");
  if (hostile !== undefined && hostile !== "echo_headers" && hostile !== "garbage") {
    throw invalid("hostile must be echo_headers or garbage.", "hostile");
  }
  /** @type {FailureRule} */
  const rule = {
    ...(method ? { method } : {}),
    path_prefix: pathPrefix,
    status,
    times: intParam(body.times, "times", 1),
    ...(hostile ? { hostile } : {}),
  };
  stripe.failureRules.push(rule);
  return rule;
}

// --- pages standing in for Checkout, the customer portal and hosted invoices -------------------

/** @returns {Reply} */
function answerPage(/** @type {SimulatedStripe} */ stripe, /** @type {string} */ method, /** @type {URL} */ url) {
  const [, page, id = "", action, subscriptionId = "", subAction] = url.pathname.split("/").map(decodeURIComponent);
  try {
    if (page === "checkout" && method === "GET" && !action) return checkoutPage(stripe, id);
    if (page === "checkout" && method === "POST" && action === "pay") {
      const { checkout_session: session } = stripe.publish(stripe.completeCheckout(id));
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
      stripe.publish(stripe.updateSubscription(subscriptionId, { cancel_at_period_end: "true" }));
      return redirect(`/portal/${encodeURIComponent(id)}`);
    }
    if (page === "invoices" && method === "GET" && !action) return invoicePage(stripe, id);
  } catch (error) {
    if (!(error instanceof StripeError)) throw error;
    return html(error.status, "Error", `<p>${escapeHtml(error.message)}</p>`);
  }
  return html(404, "Not found", `<p>Nothing is served at ${escapeHtml(url.pathname)}.</p>`);
}

function checkoutPage(/** @type {SimulatedStripe} */ stripe, /** @type {string} */ id) {
  const session = stripe.checkoutSession(id);
  const rows = stripe
    .lineItemsOf(id)
    .data.map(
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
