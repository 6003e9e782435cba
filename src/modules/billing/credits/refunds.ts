import { z } from "@hono/zod-openapi";
import { eq, sum } from "drizzle-orm";
import { clock } from "../../../platform/clock";
import { asStatement, database, isUniqueViolation } from "../../../platform/db";
import { AppError } from "../../../platform/errors";
import { creditClawbacks, creditPackPurchases } from "../tables";
import { creditsOf, grant } from "./ledger";

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
  const db = database(env);
  const [purchase] = await db
    .select()
    .from(creditPackPurchases)
    .where(eq(creditPackPurchases.paymentIntent, charge.payment_intent));
  // Not a credit pack (a subscription's invoice, say): there are no credits to take back.
  if (!purchase) return;
  const refunded = Math.min(charge.amount_refunded, charge.amount);
  const target = Math.floor((purchase.millicredits * refunded) / charge.amount);
  // Each clawback claims the position "after what was taken so far": two computed from the
  // same state collide on that reference, and the loser works it out again.
  for (let attempt = 0; attempt < 5; attempt++) {
    const [taken] = await db
      .select({ total: sum(creditClawbacks.requested).mapWith(Number) })
      .from(creditClawbacks)
      .where(eq(creditClawbacks.sessionId, purchase.sessionId));
    const already = taken?.total ?? 0;
    const requested = target - already;
    if (requested <= 0) return;
    const clawed = Math.min(requested, (await creditsOf(env, purchase.accountId)).balances.purchased);
    const reference = `clawback:${purchase.sessionId}:${already}`;
    const record = db.insert(creditClawbacks).values({
      reference,
      accountId: purchase.accountId,
      sessionId: purchase.sessionId,
      requested,
      clawed,
      shortfall: requested - clawed,
      createdAt: clock.now(),
    });
    try {
      if (clawed > 0) {
        const entry = {
          accountId: purchase.accountId,
          bucket: "purchased" as const,
          amount: -clawed,
          reason: "refund",
        };
        if (await grant(env, { ...entry, reference }, [asStatement(env, record)])) return;
      } else {
        await record;
        return;
      }
    } catch (error) {
      // Spent meanwhile (the balance CHECK) or claimed meanwhile: work it out again.
      const raced = isUniqueViolation(error) || (error instanceof AppError && error.code === "insufficient_credits");
      if (!raced) throw error;
    }
  }
  throw new Error(`clawback for ${purchase.sessionId} kept racing; the queue will retry it`);
}
