import { z } from "@hono/zod-openapi";
import { configOf } from "../../env";
import { clock } from "../../platform/clock";
import { asStatement, database } from "../../platform/db";
import type { Logger } from "../../platform/logger";
import { defineTask } from "../../platform/queue/tasks";
import { accountExists } from "../identity/service";
import { grant } from "./ledger";
import { clawBackRefund } from "./refunds";
import { creditPackPurchases } from "./tables";

/**
 * Stripe events, processed from the JOBS queue after the webhook stored them (one task per
 * event id: a redelivered event that was processed does nothing). Every effect is keyed by a
 * unique reference, so a retried task never applies twice.
 */

const StripeEventPayload = z
  .object({ id: z.string(), type: z.string(), object: z.record(z.string(), z.unknown()) })
  .strict();
type StripeEventPayload = z.infer<typeof StripeEventPayload>;

const CheckoutSession = z.object({
  id: z.string(),
  mode: z.string(),
  payment_status: z.string(),
  payment_intent: z.string().nullable().optional(),
  metadata: z.record(z.string(), z.string()).nullable().optional(),
});

/** A paid credit-pack checkout grants the pack's credits once (its session id is the reference). */
async function grantPaidPack(env: Env, object: Record<string, unknown>, logger: Logger) {
  const session = CheckoutSession.parse(object);
  // A 100 %-off checkout needs no payment, and is as good as paid.
  if (session.mode !== "payment" || !["paid", "no_payment_required"].includes(session.payment_status)) return;
  const accountId = session.metadata?.account_id;
  const pack = configOf(env).BILLING_CREDIT_PACKS.find((candidate) => candidate.id === session.metadata?.pack_id);
  if (!accountId || !pack || !(await accountExists(env, accountId))) {
    // Paid but not placeable: fail the task (retried, then `failed` and replayable), never drop it.
    logger.error("paid checkout session without a known account and pack", { sessionId: session.id });
    throw new Error(`checkout session ${session.id} names no known account and credit pack`);
  }
  const millicredits = pack.credits * 1000;
  const purchase = database(env)
    .insert(creditPackPurchases)
    .values({
      sessionId: session.id,
      accountId,
      paymentIntent: session.payment_intent ?? null,
      millicredits,
      createdAt: clock.now(),
    });
  await grant(
    env,
    { accountId, bucket: "purchased", amount: millicredits, reason: "credit_pack", reference: `pack:${session.id}` },
    [asStatement(env, purchase)],
  );
}

const handlers: Record<string, (env: Env, object: Record<string, unknown>, logger: Logger) => Promise<void>> = {
  // Paid at once (cards), or later for delayed methods (an unpaid session grants nothing yet).
  "checkout.session.completed": grantPaidPack,
  "checkout.session.async_payment_succeeded": grantPaidPack,
  "charge.refunded": (env, object) => clawBackRefund(env, object),
};

export const stripeEventTask = defineTask({
  kind: "billing.stripe-event",
  payload: StripeEventPayload,
  async handle(event: StripeEventPayload, { env, logger }) {
    const handler = handlers[event.type];
    if (!handler) {
      logger.debug("stripe event not handled", { eventId: event.id, type: event.type });
      return;
    }
    await handler(env, event.object, logger);
  },
});
