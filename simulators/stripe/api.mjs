// @ts-check
// The Stripe API under /v1: test-mode keys, injected failures, idempotent replays, the routes.
import * as catalog from "./catalog.mjs";
import * as checkout from "./checkout.mjs";
import * as customers from "./customers.mjs";
import { StripeError } from "./errors.mjs";
import { injectedFailure } from "./failures.mjs";
import { json, matchRoute } from "./http.mjs";
import * as invoices from "./invoices.mjs";
import { expansions, parseForm } from "./params.mjs";
import * as portal from "./portal.mjs";
import * as subscriptions from "./subscriptions.mjs";
import { newId } from "./util.mjs";

/** @import { IncomingHttpHeaders } from "node:http" */
/** @import { SimulatedStripe } from "./state.mjs" */
/** @import { Reply, Route } from "./http.mjs" */

/** @type {Route[]} */
const API_ROUTES = [
  ...customers.routes,
  ...checkout.routes,
  ...portal.routes,
  ...subscriptions.routes,
  ...invoices.routes,
  ...catalog.routes,
];

/**
 * Stripe's API: a test-mode key, injected failures, idempotent replays, then the route.
 * @param {SimulatedStripe} stripe @param {string} method @param {URL} url @param {string} body
 * @param {IncomingHttpHeaders} headers
 * @returns {Reply}
 */
export function answerApi(stripe, method, url, body, headers) {
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
  const failure = injectedFailure(stripe, method, url.pathname, headers, requestId);
  if (failure) return failure;

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
