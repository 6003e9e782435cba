// @ts-check
// The simulated Stripe account: every object in memory, keyed by id, with lookups and events.

import { priceObject, productId } from "./catalog.mjs";
import { noSuch } from "./errors.mjs";
import { newId, now } from "./util.mjs";
import { newEvent } from "./webhooks.mjs";

/** @import { Cycle } from "./billing-cycle.mjs" */
/** @import { CatalogPrice } from "./catalog.mjs" */
/** @import { FailureRule } from "./failures.mjs" */
/** @import { Reply } from "./http.mjs" */

/**
 * @typedef {Record<string, any>} Obj a Stripe object or a parsed request body
 */
/**
 * The fields of a Stripe type, all optional and checked deeply: the objects built here carry a
 * subset of Stripe's fields, and each one produced must have Stripe's type.
 * @template T
 * @typedef {T extends object ? { [K in keyof T]?: Shape<T[K]> } : T} Shape
 */

/** Objects keyed by id; each one is exactly what the API answers. */
export class SimulatedStripe {
  /**
   * @param {CatalogPrice[]} catalog
   * @param {string} baseUrl where this server answers (Checkout, portal and invoice pages)
   * @param {(events: Obj[]) => void} forward sends events to the webhook, if there is one
   */
  constructor(catalog, baseUrl, forward) {
    this.baseUrl = baseUrl;
    this.forward = forward;
    this.created = now();
    this.prices = new Map(catalog.map((price) => [price.id, priceObject(price, this.created)]));
    /** @type {Map<string, string>} */
    this.productNames = new Map(catalog.map((price) => [productId(price), price.product_name]));
    /** @type {Map<string, Obj>} */ this.customers = new Map();
    /** @type {Map<string, Obj>} */ this.checkoutSessions = new Map();
    /** @type {Map<string, { lineItems: Obj[], subscriptionMetadata: Record<string, string> }>} */
    this.checkoutDetails = new Map();
    /** @type {Map<string, Obj>} */ this.portalSessions = new Map();
    /** @type {Map<string, Obj>} */ this.subscriptions = new Map();
    /**
     * Where each subscription is in its billing cycle. Stripe counts periods from an anchor,
     * so a subscription started on Jan 31 renews on Feb 28, then Mar 31.
     * @type {Map<string, Cycle>}
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
    const event = newEvent(type, object, before);
    this.events.push(event);
    return event;
  }

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
