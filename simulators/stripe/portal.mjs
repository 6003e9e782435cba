// @ts-check
// Customer portal sessions: POST /v1/billing_portal/sessions.
import { stringParam } from "./params.mjs";
import { newId, now } from "./util.mjs";

/** @import Stripe from "stripe" */
/** @import { Obj, Shape, SimulatedStripe } from "./state.mjs" */
/** @import { Route } from "./http.mjs" */

function createPortalSession(/** @type {SimulatedStripe} */ stripe, /** @type {Obj} */ params) {
  const customer = stripe.customer(stringParam(params.customer, "customer", true), "customer").id;
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
    url: `${stripe.baseUrl}/portal/${id}`,
  });
  stripe.portalSessions.set(id, session);
  return session;
}

/** @type {Route[]} */
export const routes = [["POST", /^\/v1\/billing_portal\/sessions$/, (s, params) => createPortalSession(s, params)]];
