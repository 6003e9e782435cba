import { z } from "@hono/zod-openapi";
import { CREDIT_BUCKETS } from "./wallet/protocol";

const millicredits = (description: string) =>
  z
    .number()
    .int()
    .openapi({ description: `${description} (millicredits)` });

export const CreditsSchema = z
  .object({
    accountId: z.string(),
    balances: z.object({
      included: millicredits("The plan's monthly credits left (the sum of their ledger), spent first"),
      purchased: millicredits("Purchased credits left (the sum of their ledger); they never expire"),
    }),
    available: millicredits("What can be reserved now: both balances less what open holds keep"),
    held: millicredits("Kept by open holds, still in the balances until settled"),
    holds: z.array(
      z.object({
        id: z.string(),
        reference: z.string(),
        amount: millicredits("Held"),
        createdAt: z.string(),
        expiresAt: z.string().openapi({ description: "Released by the account's wallet if still open then" }),
      }),
    ),
  })
  .openapi("Credits", { description: "1 credit = 1 000 millicredits = US$0.001" });

const LedgerEntrySchema = z
  .object({
    id: z.string(),
    bucket: z.enum(CREDIT_BUCKETS),
    amount: millicredits("Signed change"),
    reason: z.string().openapi({
      example: "spend",
      description:
        "`spend` (a settled hold's charge), `late_charge`, `included`, `included_expired`, `credit_pack`, `refund`, `adjust`; entries before the wallet also `hold`, `hold_settled`, `hold_released`, `hold_expired`",
    }),
    reference: z.string().openapi({ description: "What the entry applies; each applies once" }),
    balanceAfter: millicredits("The bucket's balance after this entry"),
    seq: z
      .number()
      .int()
      .nullable()
      .openapi({ description: "The entry's number in its account wallet's sequence (null before the wallet)" }),
    createdAt: z.string(),
  })
  .openapi("LedgerEntry");

export const LedgerPageSchema = z
  .object({ items: z.array(LedgerEntrySchema), nextCursor: z.string().nullable() })
  .openapi("LedgerPage");

export const AdjustCreditsBody = z
  .object({
    accountId: z.string().regex(/^(usr|org)_[0-9A-HJKMNP-TV-Z]{26}$/, "must be a user or org id"),
    amount: z
      .number()
      .int()
      .min(-1_000_000_000_000)
      .max(1_000_000_000_000)
      .refine((value) => value !== 0, "must not be zero")
      .openapi({ description: "Signed millicredits to add (or remove)", example: 5_000_000 }),
    bucket: z.enum(CREDIT_BUCKETS).default("purchased"),
    reason: z.string().trim().min(1).max(200),
  })
  .strict()
  .openapi("AdjustCreditsRequest");

export const AdjustmentSchema = z
  .object({ entry: LedgerEntrySchema, credits: CreditsSchema })
  .openapi("CreditAdjustment");

const redirectUrl = (description: string) =>
  z
    .url({ protocol: /^https?$/ })
    .max(2048)
    .openapi({ description: `${description}; its origin must be in BILLING_REDIRECT_ALLOWLIST` });

const planId = z.string().regex(/^[a-z0-9-]{1,40}$/, "must be a plan id");
const interval = z.enum(["month", "year"]);

export const CheckoutBody = z
  .object({
    plan: planId.optional().openapi({ description: "A plan to subscribe to (with `interval`)", example: "pro" }),
    interval: interval.optional(),
    creditPack: z
      .string()
      .regex(/^[a-z0-9-]{1,40}$/, "must be a credit pack id")
      .optional()
      .openapi({ description: "A credit pack to buy (instead of a plan)", example: "credits-5000" }),
    successUrl: redirectUrl("Where Stripe sends the customer after paying"),
    cancelUrl: redirectUrl("Where Stripe sends the customer if they leave"),
  })
  .strict()
  .superRefine((body, ctx) => {
    if ((body.plan === undefined) === (body.creditPack === undefined)) {
      ctx.addIssue({ code: "custom", path: ["plan"], message: "give either plan and interval, or creditPack" });
    } else if (body.plan !== undefined && body.interval === undefined) {
      ctx.addIssue({ code: "custom", path: ["interval"], message: "is required with plan" });
    } else if (body.creditPack !== undefined && body.interval !== undefined) {
      ctx.addIssue({ code: "custom", path: ["interval"], message: "is only for plans" });
    }
  })
  .openapi("CheckoutRequest");

export const CheckoutSessionSchema = z
  .object({
    id: z.string(),
    url: z.url().openapi({ description: "Send the customer here to pay" }),
    expiresAt: z.string().nullable(),
  })
  .openapi("CheckoutSession");

export const PortalBody = z
  .object({ returnUrl: redirectUrl("Where the portal's back link goes") })
  .strict()
  .openapi("PortalRequest");

export const PortalSessionSchema = z.object({ url: z.url() }).openapi("PortalSession");

export const ChangeSubscriptionBody = z
  .object({ plan: planId, interval })
  .strict()
  .openapi("ChangeSubscriptionRequest");

export const SubscriptionSchema = z
  .object({
    id: z.string(),
    status: z.string().openapi({ description: "Stripe's status: active, trialing, past_due, canceled…" }),
    plan: z
      .string()
      .nullable()
      .openapi({ description: "The plan it sells (null: a price this deployment does not sell)" }),
    interval: interval.nullable(),
    entitled: z.boolean().openapi({ description: "Whether it gives its plan now (paying, or past due within grace)" }),
    currentPeriodStart: z.string(),
    currentPeriodEnd: z.string(),
    cancelAtPeriodEnd: z.boolean(),
    pastDueSince: z.string().nullable(),
    graceEndsAt: z.string().nullable().openapi({ description: "When an unpaid subscription moves to the free plan" }),
    downgradedAt: z.string().nullable(),
  })
  .openapi("Subscription");

export const SubscriptionStateSchema = z
  .object({
    plan: z.string().openapi({ description: "The account's effective plan now" }),
    subscription: SubscriptionSchema.nullable().openapi({ description: "The newest subscription, live or ended" }),
  })
  .openapi("SubscriptionState");

export const InvoicesQuery = z
  .object({
    limit: z.coerce.number().int().min(1).max(100).default(20),
    cursor: z
      .string()
      .regex(/^in_[A-Za-z0-9_]{1,255}$/, "must be the nextCursor of the previous page")
      .optional(),
  })
  .strict();

export const InvoicePageSchema = z
  .object({
    items: z.array(
      z.object({
        id: z.string(),
        number: z.string().nullable(),
        status: z.string().nullable(),
        billingReason: z.string().nullable(),
        currency: z.string(),
        amountDue: z.number().int().openapi({ description: "Minor currency units" }),
        amountPaid: z.number().int(),
        createdAt: z.string(),
        periodStart: z.string(),
        periodEnd: z.string(),
        hostedInvoiceUrl: z.string().nullable(),
        pdfUrl: z.string().nullable(),
      }),
    ),
    nextCursor: z.string().nullable(),
  })
  .openapi("InvoicePage");

export const WalletCopiesSchema = z
  .object({
    accounts: z.number().int().openapi({ description: "Wallets with a D1 copy" }),
    lagging: z
      .number()
      .int()
      .openapi({ description: "Copies that do not yet hold every row up to their wallet's latest checkpoint" }),
    gaps: z.number().int().openapi({ description: "Times a copy found rows missing and asked its wallet to resend" }),
    mismatches: z
      .number()
      .int()
      .openapi({ description: "Checkpoints whose balances disagreed with the copied rows (should stay 0)" }),
    attention: z
      .array(
        z.object({
          accountId: z.string(),
          through: z.number().int(),
          checkpointSeq: z.number().int(),
          gaps: z.number().int(),
          mismatches: z.number().int(),
          updatedAt: z.string(),
        }),
      )
      .openapi({ description: "Up to 100 copies with a mismatch, a gap or a lag, the longest-waiting first" }),
  })
  .openapi("WalletCopies");
