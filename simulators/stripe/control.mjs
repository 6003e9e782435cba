// @ts-check
// The control API under /__sim: the customer's and the bank's actions, events, customers, failures.
import * as checkout from "./checkout.mjs";
import { invalid, StripeError } from "./errors.mjs";
import { addFailureRule } from "./failures.mjs";
import { json, matchRoute } from "./http.mjs";
import { boolParam } from "./params.mjs";
import * as payments from "./payments.mjs";
import * as renewals from "./renewals.mjs";
import * as subscriptions from "./subscriptions.mjs";

/** @import { Obj, SimulatedStripe } from "./state.mjs" */
/** @import { Reply, Route } from "./http.mjs" */

/**
 * Control actions answer { events, …objects } and forward the events unless `"forward": false`.
 * @type {Route[]}
 */
const CONTROL_ROUTES = [
  ...checkout.controlRoutes,
  ...renewals.controlRoutes,
  ...subscriptions.controlRoutes,
  ...payments.controlRoutes,
];

/** @returns {Reply} */
export function answerControl(
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
