import { env } from "cloudflare:test";
import Stripe from "stripe";
import { expect, inject } from "vitest";
import { type ApiResponse, api } from "./client";
import { walletBalances } from "./wallet";

/**
 * Stripe in tests: the Worker's SDK calls the simulator (simulators/stripe.mjs); tests drive
 * it through its control API (complete a checkout, renew, fail a payment…), which answers the
 * events Stripe would send. Tests sign and deliver those to the webhook themselves, so they
 * choose the order, the repeats and the timing.
 */

export const WEBHOOK_SECRET = "whsec_stratus_tests";
const simulator = inject("stripeSimulatorUrl");
const cryptoProvider = Stripe.createSubtleCryptoProvider();
const stripe = new Stripe("sk_test_stratus_tests", { httpClient: Stripe.createFetchHttpClient() });

/** The fields tests read of an event's object; the rest is passed through untouched. */
type EventObject = { id: string; customer?: string; payment_intent?: string; billing_reason?: string; status?: string };
export type StripeEvent = { id: string; type: string; created: number; data: { object: EventObject } };

/** Calls the simulator's control API (`/__sim/…`); events are never forwarded in tests. */
export async function sim<T = { events: StripeEvent[] }>(path: string, body?: Record<string, unknown>): Promise<T> {
  const response = await fetch(`${simulator}/__sim/${path}`, {
    method: body ? "POST" : "GET",
    headers: { "content-type": "application/json" },
    body: body ? JSON.stringify({ forward: false, ...body }) : undefined,
  });
  if (!response.ok) throw new Error(`simulator ${path}: ${response.status} ${await response.text()}`);
  return (await response.json()) as T;
}

export async function deliver(
  event: unknown,
  options: { secret?: string; timestamp?: number; body?: string } = {},
): Promise<ApiResponse> {
  const payload = JSON.stringify(event);
  const signature = await stripe.webhooks.generateTestHeaderStringAsync({
    payload,
    secret: options.secret ?? WEBHOOK_SECRET,
    timestamp: options.timestamp ?? Math.floor(Date.now() / 1000),
    cryptoProvider,
  });
  return api("/v1/billing/webhook", {
    method: "POST",
    body: options.body ?? payload,
    headers: { "content-type": "application/json", "stripe-signature": signature },
  });
}

/** Waits until the queue has processed the event's task. */
export async function processed(eventId: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const row = await env.DB.prepare("SELECT status FROM queue_tasks WHERE reference = ?")
      .bind(`stripe:${eventId}`)
      .first<{ status: string }>();
    if (row?.status === "processed") return;
    if (row?.status === "failed") throw new Error(`stripe:${eventId} failed`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`stripe:${eventId} was not processed`);
}

/** Delivers events at once (the queue may process them in any order) and waits for all. */
export async function deliverAll(events: StripeEvent[]): Promise<void> {
  const answers = await Promise.all(events.map((event) => deliver(event)));
  expect(answers.map((answer) => answer.status)).toEqual(events.map(() => 200));
  await Promise.all(events.map((event) => processed(event.id)));
}

/** Delivers events one after the other, each processed before the next. */
export async function deliverInOrder(events: StripeEvent[]): Promise<void> {
  for (const event of events) {
    expect((await deliver(event)).status).toBe(200);
    await processed(event.id);
  }
}

export const TEST_ORIGIN = "https://app.example.com";
export const redirects = { successUrl: `${TEST_ORIGIN}/billing/done`, cancelUrl: `${TEST_ORIGIN}/billing` };

type Checkout = { id: string; url: string };

/** Opens a checkout for the caller's account (headers choose user or org) and expects 201. */
export async function openCheckout(headers: Record<string, string>, body: Record<string, unknown>): Promise<Checkout> {
  const response = await api<Checkout>("/v1/billing/checkout", { json: { ...redirects, ...body }, headers });
  expect(response.status, response.text).toBe(201);
  return response.body;
}

/** A subscription bought and its events delivered: the account is on the plan. */
export async function subscribe(headers: Record<string, string>, plan = "pro", interval = "month") {
  const checkout = await openCheckout(headers, { plan, interval });
  const { events } = await sim(`checkout_sessions/${checkout.id}/complete`, {});
  await deliverAll(events);
  const subscription = events.find((event) => event.type === "customer.subscription.created")?.data.object;
  if (!subscription) throw new Error("the simulator created no subscription");
  return { checkout, events, subscriptionId: subscription.id, customerId: subscription.customer as string };
}

/** A credit pack bought (paid at once unless `paid` is false); its events are returned, not delivered. */
export async function buyPack(headers: Record<string, string>, creditPack = "credits-5000", paid = true) {
  const checkout = await openCheckout(headers, { creditPack });
  const { events } = await sim(`checkout_sessions/${checkout.id}/complete`, { paid });
  return { checkout, events };
}

export const balanceOf = async (accountId: string, bucket: "included" | "purchased") =>
  (await walletBalances(accountId)).balances[bucket];

/** Included credits a month: pro and premium. */
export const PRO_MONTHLY = 25_000_000;
export const PREMIUM_MONTHLY = 5_000_000;

export const included = (accountId: string) => balanceOf(accountId, "included");

export type SubscriptionState = {
  plan: string;
  subscription: null | {
    id: string;
    status: string;
    plan: string | null;
    cancelAtPeriodEnd: boolean;
    entitled: boolean;
  };
};

/** GET /v1/billing/subscription as the caller (headers choose user or org). */
export const subscriptionOf = async (headers: Record<string, string>) =>
  (await api<SubscriptionState>("/v1/billing/subscription", { headers })).body;
