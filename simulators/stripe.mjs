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
 *
 * This module starts the server and routes each request; stripe/ holds one module per Stripe
 * resource (customers, checkout, payments, portal, subscriptions, renewals, invoices, catalog)
 * and per concern (the in-memory account, webhooks, the API, the control API, failures, pages).
 */
import { createServer } from "node:http";
import { answerApi } from "./stripe/api.mjs";
import { answerControl } from "./stripe/control.mjs";
import { StripeError } from "./stripe/errors.mjs";
import { json, readBody } from "./stripe/http.mjs";
import { answerPage } from "./stripe/pages.mjs";
import { SimulatedStripe } from "./stripe/state.mjs";
import { Outbox } from "./stripe/webhooks.mjs";

export { loadCatalog } from "./stripe/catalog.mjs";
export { readDevVars } from "./stripe/dev-vars.mjs";
export { API_VERSION, deliverWebhook, signatureHeader } from "./stripe/webhooks.mjs";

/** @import { IncomingMessage, ServerResponse } from "node:http" */
/** @import { CatalogPrice } from "./stripe/catalog.mjs" */
/** @import { Reply } from "./stripe/http.mjs" */
/** @import { Webhook } from "./stripe/webhooks.mjs" */

/** @typedef {{ url: string, port: number, close(): Promise<void> }} RunningSimulator */

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
  /** @type {SimulatedStripe} */
  let stripe;
  try {
    stripe = new SimulatedStripe(catalog, url, (events) => outbox?.send(events));
  } catch (error) {
    // A bad catalog must not leave the port open behind the error.
    server.close();
    throw error;
  }
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

/**
 * Answers from the Stripe API (/v1), the control API (/__sim) or the pages, by the path's prefix.
 * @param {SimulatedStripe} stripe @param {IncomingMessage} request @param {ServerResponse} response
 */
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
