import { eq } from "drizzle-orm";
import type { Config } from "../../../env";
import { clock } from "../../../platform/clock";
import { database } from "../../../platform/db";
import { billingCustomers } from "../tables";
import { stripeOf } from "./client";

/**
 * A billing account's Stripe customer, created once even when first requests race: they all
 * send the same idempotency key (Stripe answers each with the one customer it created), and
 * the first store wins (the others keep what is stored). Stripe forgets idempotency keys after
 * 24 h, which only matters if a store failed after Stripe created the customer.
 */

export async function storedCustomerId(env: Env, accountId: string): Promise<string | null> {
  const [row] = await database(env)
    .select({ customerId: billingCustomers.customerId })
    .from(billingCustomers)
    .where(eq(billingCustomers.accountId, accountId));
  return row?.customerId ?? null;
}

export async function customerIdOf(env: Env, config: Config, accountId: string): Promise<string> {
  const stored = await storedCustomerId(env, accountId);
  if (stored) return stored;
  // Parameters must not vary between racing callers: Stripe refuses a reused key with others.
  const customer = await stripeOf(config).customers.create(
    { metadata: { account_id: accountId }, description: `Stratus account ${accountId}` },
    { idempotencyKey: `stratus-customer-${accountId}` },
  );
  await database(env)
    .insert(billingCustomers)
    .values({ accountId, customerId: customer.id, createdAt: clock.now() })
    .onConflictDoNothing({ target: billingCustomers.accountId });
  const winner = await storedCustomerId(env, accountId);
  if (!winner) throw new Error(`the customer of ${accountId} is missing after its store`);
  return winner;
}

/** The account a Stripe customer bills, or null for a customer Stratus did not create. */
export async function accountOfCustomer(env: Env, customerId: string): Promise<string | null> {
  const [row] = await database(env)
    .select({ accountId: billingCustomers.accountId })
    .from(billingCustomers)
    .where(eq(billingCustomers.customerId, customerId));
  return row?.accountId ?? null;
}
