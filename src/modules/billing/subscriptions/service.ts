import type Stripe from "stripe";
import { z } from "zod";
import type { Config } from "../../../env";
import { clock } from "../../../platform/clock";
import type { Actor, Configured } from "../../../platform/context";
import { AppError, type FieldError } from "../../../platform/errors";
import { auditInsert } from "../../identity/api";
import { effectivePlan } from "../../plans/api";
import { fromStripe, stripeOf, viaStripe } from "../stripe/client";
import { customerIdOf, storedCustomerId } from "../stripe/customers";
import {
  entitles,
  latestSubscriptionOf,
  liveSubscriptionOf,
  priceOfPlan,
  type SubscriptionRow,
  storeSubscription,
} from "./store";

/**
 * What an account does with its billing: open a Checkout (a plan or a credit pack) or the
 * Billing Portal, read, cancel, resume or change its subscription, list its invoices. Stripe
 * stays the source of truth: every change is made there and its answer stored.
 */

type Account = { id: string; type: "user" | "org" };

const iso = (epochMs: number | null) => (epochMs === null ? null : clock.iso(epochMs));

function invalid(path: string, message: string): AppError {
  return new AppError("validation_failed", `${path}: ${message}`, { errors: [{ path, message }] });
}

/** Checkout and portal return only to the allowlisted origins: never an open redirect. */
function requireAllowedRedirects(config: Config, urls: Record<string, string>): void {
  const refused: FieldError[] = Object.entries(urls)
    .filter(([, url]) => !config.BILLING_REDIRECT_ALLOWLIST.includes(new URL(url).origin))
    .map(([field, url]) => ({
      path: `body.${field}`,
      message: `${new URL(url).origin} is not an allowed redirect origin`,
    }));
  if (refused.length > 0) {
    throw new AppError(
      "validation_failed",
      "Redirect URLs must be on an allowed origin (BILLING_REDIRECT_ALLOWLIST).",
      {
        errors: refused,
      },
    );
  }
}

export type CheckoutInput = {
  successUrl: string;
  cancelUrl: string;
} & ({ plan: string; interval: "month" | "year"; creditPack?: undefined } | { creditPack: string; plan?: undefined });

/** What the checkout sells: a plan's price (subscription) or a credit pack's (one payment). */
type CheckoutLine = { mode: "payment" | "subscription"; priceId: string; metadata: Record<string, string> };

async function checkoutLine(env: Env, config: Config, accountId: string, input: CheckoutInput): Promise<CheckoutLine> {
  if (input.creditPack !== undefined) {
    const pack = config.BILLING_CREDIT_PACKS.find((candidate) => candidate.id === input.creditPack);
    if (!pack) throw invalid("body.creditPack", "no credit pack has this id");
    return { mode: "payment", priceId: pack.priceId, metadata: { account_id: accountId, pack_id: pack.id } };
  }
  const sold = priceOfPlan(config, input.plan, input.interval);
  if (!sold) throw invalid("body.plan", `this plan is not sold by the ${input.interval}`);
  if (await liveSubscriptionOf(env, accountId)) {
    throw new AppError(
      "conflict",
      "This account already has a live subscription: change it with POST /v1/billing/subscription/change.",
    );
  }
  return { mode: "subscription", priceId: sold.priceId, metadata: { account_id: accountId, plan: sold.plan } };
}

/**
 * Only the newest subscription checkout of a customer can be paid: two tabs (or two admins)
 * must not end with two subscriptions, so opening one expires the others still open.
 */
async function expireOpenSubscriptionCheckouts(stripe: Stripe, customer: string): Promise<void> {
  const open = await stripe.checkout.sessions.list({ customer, status: "open", limit: 100 });
  for (const session of open.data) {
    if (session.mode === "subscription") await stripe.checkout.sessions.expire(session.id);
  }
}

export async function openCheckout({ env, config }: Configured, account: Account, input: CheckoutInput) {
  requireAllowedRedirects(config, { successUrl: input.successUrl, cancelUrl: input.cancelUrl });
  const line = await checkoutLine(env, config, account.id, input);
  const session = await viaStripe(async () => {
    const stripe = stripeOf(config);
    const customer = await customerIdOf(env, config, account.id);
    if (line.mode === "subscription") await expireOpenSubscriptionCheckouts(stripe, customer);
    return stripe.checkout.sessions.create({
      mode: line.mode,
      customer,
      client_reference_id: account.id,
      line_items: [{ price: line.priceId, quantity: 1 }],
      success_url: input.successUrl,
      cancel_url: input.cancelUrl,
      // For people reading the Stripe dashboard: events are placed by the customer, not by these.
      metadata: line.metadata,
      ...(line.mode === "subscription" ? { subscription_data: { metadata: line.metadata } } : {}),
    });
  });
  if (!session.url) throw new Error(`checkout session ${session.id} has no URL`);
  return {
    id: session.id,
    url: session.url,
    expiresAt: session.expires_at ? clock.iso(session.expires_at * 1000) : null,
  };
}

export async function openPortal({ env, config }: Configured, account: Account, input: { returnUrl: string }) {
  requireAllowedRedirects(config, { returnUrl: input.returnUrl });
  const session = await viaStripe(async () =>
    stripeOf(config).billingPortal.sessions.create({
      customer: await customerIdOf(env, config, account.id),
      return_url: input.returnUrl,
    }),
  );
  return { url: session.url };
}

function publicSubscription(row: SubscriptionRow) {
  return {
    id: row.id,
    status: row.status,
    plan: row.planId,
    interval: row.interval,
    entitled: entitles(row),
    currentPeriodStart: clock.iso(row.currentPeriodStart),
    currentPeriodEnd: clock.iso(row.currentPeriodEnd),
    cancelAtPeriodEnd: row.cancelAtPeriodEnd,
    pastDueSince: iso(row.pastDueSince),
    graceEndsAt: iso(row.graceEndsAt),
    downgradedAt: iso(row.downgradedAt),
  };
}

export async function subscriptionOf(env: Env, accountId: string) {
  const row = await latestSubscriptionOf(env, accountId);
  return { plan: (await effectivePlan(env, accountId)).id, subscription: row ? publicSubscription(row) : null };
}

async function requireLive(env: Env, accountId: string): Promise<SubscriptionRow> {
  const live = await liveSubscriptionOf(env, accountId);
  if (!live) throw new AppError("not_found", "This account has no live subscription.");
  return live;
}

/** Applies a change at Stripe, stores Stripe's answer, audits it. */
async function changeAtStripe(
  { env, config }: Configured,
  actor: Actor,
  account: Account,
  action: string,
  update: (stripe: Stripe) => Promise<Stripe.Subscription>,
  details: Record<string, unknown> = {},
) {
  const updated = await viaStripe(() => update(stripeOf(config)));
  const stored = await storeSubscription({ env, config }, updated);
  if (!stored) throw new Error(`subscription ${updated.id} has no stored customer`);
  await auditInsert(env, {
    ...(account.type === "org" ? { orgId: account.id } : {}),
    actorId: actor.userId,
    action,
    targetType: "subscription",
    targetId: updated.id,
    details,
    requestId: actor.requestId,
  });
  return publicSubscription(stored);
}

/** Cancels at the end of the paid period (the plan stays until then). */
export async function cancelSubscription({ env, config }: Configured, actor: Actor, account: Account) {
  const live = await requireLive(env, account.id);
  return changeAtStripe({ env, config }, actor, account, "billing.subscription_canceled", (stripe) =>
    stripe.subscriptions.update(live.id, { cancel_at_period_end: true }),
  );
}

export async function resumeSubscription({ env, config }: Configured, actor: Actor, account: Account) {
  const live = await requireLive(env, account.id);
  if (!live.cancelAtPeriodEnd) throw new AppError("conflict", "This subscription is not set to cancel.");
  return changeAtStripe({ env, config }, actor, account, "billing.subscription_resumed", (stripe) =>
    stripe.subscriptions.update(live.id, { cancel_at_period_end: false }),
  );
}

/** Moves to another plan or interval now; Stripe invoices the prorated difference at once. */
export async function changeSubscription(
  { env, config }: Configured,
  actor: Actor,
  account: Account,
  input: { plan: string; interval: "month" | "year" },
) {
  const sold = priceOfPlan(config, input.plan, input.interval);
  if (!sold) throw invalid("body.plan", `this plan is not sold by the ${input.interval}`);
  const live = await requireLive(env, account.id);
  if (live.priceId === sold.priceId)
    throw new AppError("conflict", "The subscription is already on this plan and interval.");
  return changeAtStripe(
    { env, config },
    actor,
    account,
    "billing.subscription_changed",
    async (stripe) => {
      const current = await stripe.subscriptions.retrieve(live.id);
      const item = current.items.data[0];
      if (!item) throw new Error(`subscription ${live.id} has no item`);
      // Applied only once its prorated invoice is paid: a failed card leaves the plan as it was.
      const changed = await stripe.subscriptions.update(live.id, {
        items: [{ id: item.id, price: sold.priceId }],
        proration_behavior: "always_invoice",
        payment_behavior: "pending_if_incomplete",
      });
      if (changed.pending_update) {
        throw new AppError("payment_failed", "The prorated payment did not go through; the plan was not changed.");
      }
      return changed;
    },
    { from: { plan: live.planId, interval: live.interval }, to: input },
  );
}

export async function invoicesOf(
  { env, config }: Configured,
  accountId: string,
  page: { limit: number; cursor?: string },
) {
  const customer = await storedCustomerId(env, accountId);
  if (!customer) return { items: [], nextCursor: null };
  const list = await viaStripe(
    () =>
      stripeOf(config).invoices.list({
        customer,
        limit: page.limit,
        ...(page.cursor ? { starting_after: page.cursor } : {}),
      }),
    // Stripe refuses a cursor that is not one of this customer's invoices.
    (error) =>
      error.param === "starting_after" || error.code === "resource_missing"
        ? invalid("query.cursor", "is not the nextCursor of a previous page")
        : undefined,
  );
  const checked = fromStripe(InvoicePage, list);
  const items = checked.data.map((invoice) => ({
    id: invoice.id,
    number: invoice.number,
    status: invoice.status,
    billingReason: invoice.billing_reason,
    currency: invoice.currency,
    amountDue: invoice.amount_due,
    amountPaid: invoice.amount_paid,
    createdAt: clock.iso(invoice.created * 1000),
    periodStart: clock.iso(invoice.period_start * 1000),
    periodEnd: clock.iso(invoice.period_end * 1000),
    hostedInvoiceUrl: invoice.hosted_invoice_url ?? null,
    pdfUrl: invoice.invoice_pdf ?? null,
  }));
  return { items, nextCursor: checked.has_more ? (items.at(-1)?.id ?? null) : null };
}

const Seconds = z.number().int().min(0).max(10_000_000_000);
const NullableText = z.string().max(2_048).nullable();

/** What `invoicesOf` uses of a page of Stripe invoices. */
const InvoicePage = z.object({
  has_more: z.boolean(),
  data: z.array(
    z.object({
      id: z.string().max(255),
      number: NullableText,
      status: NullableText,
      billing_reason: NullableText,
      currency: z.string().max(16),
      amount_due: z.number().int(),
      amount_paid: z.number().int(),
      created: Seconds,
      period_start: Seconds,
      period_end: Seconds,
      hosted_invoice_url: NullableText.optional(),
      invoice_pdf: NullableText.optional(),
    }),
  ),
});
