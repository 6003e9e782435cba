// @ts-check
// Events and webhooks: building events, Stripe's v1 signature, delivery in emission order.
import { createHmac } from "node:crypto";
import { newId, now } from "./util.mjs";

/** @import { Obj } from "./state.mjs" */

/** @typedef {{ url: string, secret: string }} Webhook */

export const API_VERSION = "2026-10-28.endive";

/**
 * An event carrying a copy of the object as it is now; `before` (a copy taken before an
 * update) yields Stripe's previous_attributes.
 * @param {string} type @param {Obj} object @param {Obj} [before]
 */
export function newEvent(type, object, before) {
  return {
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
}

/** The fields of `after` that differ from `before`, with their values before (previous_attributes). */
export function changedFrom(/** @type {Obj} */ before, /** @type {Obj} */ after) {
  const keys = Object.keys(after).filter((key) => JSON.stringify(before[key]) !== JSON.stringify(after[key]));
  return Object.fromEntries(keys.map((key) => [key, before[key]]));
}

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

/** Webhook deliveries, one at a time so the receiver sees events in emission order. */
export class Outbox {
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
