// @ts-check
// Customers: POST and GET /v1/customers.
import { metadataParam, stringParam } from "./params.mjs";
import { newId, now } from "./util.mjs";

/** @import Stripe from "stripe" */
/** @import { Obj, Shape, SimulatedStripe } from "./state.mjs" */
/** @import { Route } from "./http.mjs" */

function createCustomer(/** @type {SimulatedStripe} */ stripe, /** @type {Obj} */ params) {
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
  stripe.customers.set(customer.id, customer);
  return customer;
}

/** @type {Route[]} */
export const routes = [
  ["POST", /^\/v1\/customers$/, (s, params) => createCustomer(s, params)],
  ["GET", /^\/v1\/customers\/([^/]+)$/, (s, _params, id) => s.customer(id)],
];
