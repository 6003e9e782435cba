import { z } from "@hono/zod-openapi";
import { CREDIT_BUCKETS } from "./tables";

const millicredits = (description: string) =>
  z
    .number()
    .int()
    .openapi({ description: `${description} (millicredits)` });

export const CreditsSchema = z
  .object({
    accountId: z.string(),
    balances: z.object({
      included: millicredits("The plan's monthly credits left, spent first"),
      purchased: millicredits("Purchased credits left; they never expire"),
    }),
    available: millicredits("What can be reserved now: both buckets"),
    held: millicredits("Set aside by open holds, already out of the balances"),
    holds: z.array(
      z.object({
        id: z.string(),
        reference: z.string(),
        amount: millicredits("Held"),
        createdAt: z.string(),
        expiresAt: z.string().openapi({ description: "Released by the cron if still open then" }),
      }),
    ),
  })
  .openapi("Credits", { description: "1 credit = 1 000 millicredits = US$0.001" });

export const LedgerEntrySchema = z
  .object({
    id: z.string(),
    bucket: z.enum(CREDIT_BUCKETS),
    amount: millicredits("Signed change"),
    reason: z.string().openapi({ example: "hold" }),
    reference: z.string().openapi({ description: "What the entry applies; each applies once" }),
    balanceAfter: millicredits("The bucket's balance after this entry"),
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
