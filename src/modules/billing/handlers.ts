import type { RouteHandler } from "@hono/zod-openapi";
import { accountOf, actorOf, requestContextOf } from "../../middleware/auth";
import { readLimitedText } from "../../middleware/body-limits";
import { accountPermitting } from "../../middleware/tenancy";
import type { AppEnv } from "../../platform/context";
import { enqueue } from "../../platform/queue/tasks";
import { adjustCredits as adjust } from "./credits/adjustments";
import { creditsOf, ledgerOf } from "./credits/ledger";
import type * as routes from "./routes";
import { verifiedEvent } from "./stripe/client";
import { stripeEventTask } from "./stripe/events";
import { replayStripeEvent as replay } from "./stripe/replay";
import * as subscriptions from "./subscriptions/service";
import { walletCopyHealth } from "./wallet/health";

type Handler<R extends keyof typeof routes> = RouteHandler<(typeof routes)[R], AppEnv>;

export const getCredits: Handler<"getCredits"> = async (c) => c.json(await creditsOf(c.env, accountOf(c).id), 200);

export const getLedger: Handler<"getLedger"> = async (c) =>
  c.json(await ledgerOf(c.env, accountOf(c).id, c.req.valid("query")), 200);

export const adjustCredits: Handler<"adjustCredits"> = async (c) =>
  c.json(await adjust(c.env, actorOf(c), c.req.valid("json")), 201);

export const walletCopies: Handler<"walletCopies"> = async (c) => c.json(await walletCopyHealth(c.env), 200);

/** Stripe's events are small; anything larger is not from Stripe. */
const WEBHOOK_MAX_BYTES = 256 * 1024;

/**
 * Verifies the raw body and stores the event's task (once per event id: a redelivery that was
 * processed is not sent again) before answering; the queue is told after the answer, so Stripe
 * does not wait for it (a send that fails leaves the task for the cron).
 */
export const stripeWebhook: Handler<"stripeWebhook"> = async (c) => {
  const raw = await readLimitedText(c.req.raw, WEBHOOK_MAX_BYTES);
  const event = await verifiedEvent(c.get("config"), raw, c.req.valid("header")["stripe-signature"]);
  const object = event.data.object as unknown as Record<string, unknown>;
  await enqueue(
    c.env,
    stripeEventTask,
    { id: event.id, type: event.type, object },
    { reference: `stripe:${event.id}`, sendAfter: (sending) => c.executionCtx.waitUntil(sending) },
  );
  return c.json({ received: true as const }, 200);
};

export const replayStripeEvent: Handler<"replayStripeEvent"> = async (c) =>
  c.json(await replay(c.env, actorOf(c), c.req.valid("param").eventId), 202);

/** Billing is managed by the account's owner: the user, or an org's owners and admins. */
const managedAccount = (c: Parameters<typeof accountOf>[0]) => accountPermitting(c, "billing:manage");

export const openCheckout: Handler<"openCheckout"> = async (c) =>
  c.json(
    await subscriptions.openCheckout(
      requestContextOf(c),
      managedAccount(c),
      c.req.valid("json") as subscriptions.CheckoutInput,
    ),
    201,
  );

export const openPortal: Handler<"openPortal"> = async (c) =>
  c.json(await subscriptions.openPortal(requestContextOf(c), managedAccount(c), c.req.valid("json")), 201);

export const getSubscription: Handler<"getSubscription"> = async (c) =>
  c.json(await subscriptions.subscriptionOf(c.env, accountOf(c).id), 200);

export const cancelSubscription: Handler<"cancelSubscription"> = async (c) =>
  c.json(await subscriptions.cancelSubscription(requestContextOf(c), actorOf(c), managedAccount(c)), 200);

export const resumeSubscription: Handler<"resumeSubscription"> = async (c) =>
  c.json(await subscriptions.resumeSubscription(requestContextOf(c), actorOf(c), managedAccount(c)), 200);

export const changeSubscription: Handler<"changeSubscription"> = async (c) =>
  c.json(
    await subscriptions.changeSubscription(requestContextOf(c), actorOf(c), managedAccount(c), c.req.valid("json")),
    200,
  );

export const listInvoices: Handler<"listInvoices"> = async (c) =>
  c.json(await subscriptions.invoicesOf(requestContextOf(c), managedAccount(c).id, c.req.valid("query")), 200);
