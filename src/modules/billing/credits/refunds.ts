import { z } from "@hono/zod-openapi";
import { eq } from "drizzle-orm";
import { database } from "../../../platform/db";
import { creditPackPurchases } from "../tables";
import { askWallet } from "../wallet/client";

/**
 * Refunds of credit packs: a refunded charge takes back the pack's credits in proportion to
 * what was refunded so far (Stripe's `amount_refunded` is cumulative, so events in any order
 * converge), never below zero: what was already spent is recorded as the clawback's shortfall.
 */

const Charge = z.object({
  id: z.string(),
  amount: z.number().int().positive(),
  amount_refunded: z.number().int().min(0),
  payment_intent: z.string().nullable().optional(),
});

export async function clawBackRefund(env: Env, object: Record<string, unknown>): Promise<void> {
  const charge = Charge.parse(object);
  if (!charge.payment_intent) return;
  const [purchase] = await database(env)
    .select()
    .from(creditPackPurchases)
    .where(eq(creditPackPurchases.paymentIntent, charge.payment_intent));
  // Not a credit pack (a subscription's invoice, say): there are no credits to take back.
  if (!purchase) return;
  const refunded = Math.min(charge.amount_refunded, charge.amount);
  const target = Math.floor((purchase.millicredits * refunded) / charge.amount);
  // The wallet takes back what `target` adds to what was taken so far, in one step.
  await askWallet(env, purchase.accountId, (wallet) => wallet.clawBack(purchase.accountId, purchase.sessionId, target));
}
