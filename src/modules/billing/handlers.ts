import type { RouteHandler } from "@hono/zod-openapi";
import type { AppEnv } from "../../platform/context";
import { readLimitedText } from "../../platform/json-body";
import { enqueue } from "../../platform/queue/tasks";
import { accountOf, actorOf } from "../identity/auth";
import { stripeEventTask } from "./consumers";
import { creditsOf, ledgerOf } from "./ledger";
import type * as routes from "./routes";
import { adjustCredits as adjust, replayStripeEvent as replay } from "./service";
import { verifiedEvent } from "./stripe";

type Handler<R extends keyof typeof routes> = RouteHandler<(typeof routes)[R], AppEnv>;

export const getCredits: Handler<"getCredits"> = async (c) => c.json(await creditsOf(c.env, accountOf(c).id), 200);

export const getLedger: Handler<"getLedger"> = async (c) =>
  c.json(await ledgerOf(c.env, accountOf(c).id, c.req.valid("query")), 200);

export const adjustCredits: Handler<"adjustCredits"> = async (c) =>
  c.json(await adjust(c.env, actorOf(c), c.req.valid("json")), 201);

/** Stripe's events are small; anything larger is not from Stripe. */
const WEBHOOK_MAX_BYTES = 256 * 1024;

export const stripeWebhook: Handler<"stripeWebhook"> = async (c) => {
  const raw = await readLimitedText(c.req.raw, WEBHOOK_MAX_BYTES);
  const event = await verifiedEvent(c.get("config"), raw, c.req.valid("header")["stripe-signature"]);
  const object = event.data.object as unknown as Record<string, unknown>;
  await enqueue(
    c.env,
    stripeEventTask,
    { id: event.id, type: event.type, object },
    { reference: `stripe:${event.id}` },
  );
  return c.json({ received: true as const }, 200);
};

export const replayStripeEvent: Handler<"replayStripeEvent"> = async (c) =>
  c.json(await replay(c.env, actorOf(c), c.req.valid("param").eventId), 202);
