// @ts-check
// Prices and products: the catalog of simulators/stripe-catalog.json as Stripe price objects.
import { readFileSync } from "node:fs";

/** @import Stripe from "stripe" */
/** @import { Shape } from "./state.mjs" */
/** @import { Route } from "./http.mjs" */

/**
 * @typedef {{ id: string, unit_amount: number, currency: string, product_name: string,
 *   recurring?: { interval: "month" | "year" } }} CatalogPrice
 */

/** @returns {CatalogPrice[]} the dev/test price catalog, simulators/stripe-catalog.json */
export function loadCatalog() {
  return JSON.parse(readFileSync(new URL("../stripe-catalog.json", import.meta.url), "utf8"));
}

/** The id of the product a catalog price sells, derived from its name. */
export function productId(/** @type {CatalogPrice} */ price) {
  return `prod_${price.product_name.toLowerCase().replace(/[^a-z0-9]+/g, "_")}`;
}

/** The Stripe price of a catalog entry, which it checks. @param {CatalogPrice} price @param {number} created */
export function priceObject(price, created) {
  if (!price.id || !Number.isInteger(price.unit_amount) || !price.currency || !price.product_name) {
    throw new Error(`Stripe simulator catalog: bad price ${JSON.stringify(price)}`);
  }
  if (price.recurring && !["month", "year"].includes(price.recurring.interval)) {
    throw new Error(`Stripe simulator catalog: ${price.id} recurs by month or year`);
  }
  return /** @satisfies {Shape<Stripe.Price>} */ ({
    id: price.id,
    object: "price",
    active: true,
    billing_scheme: "per_unit",
    created,
    currency: price.currency,
    livemode: false,
    lookup_key: null,
    metadata: {},
    nickname: null,
    product: productId(price),
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

/** @type {Route[]} */
export const routes = [["GET", /^\/v1\/prices\/([^/]+)$/, (s, _params, id) => s.price(id)]];
