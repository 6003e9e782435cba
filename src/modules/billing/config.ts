import { z } from "zod";
import { configFragment, httpsOnly, json, originList } from "../../platform/config";

/** Billing's keys: credit holds, Stripe, what is on sale, and dunning. */
export const billingConfig = configFragment({
  keys: {
    /** How long a credit hold may stay open before its wallet releases it: longer than any AI call. */
    CREDIT_HOLD_TTL_SECONDS: z.coerce.number().int().min(60).max(86_400).default(900),
    /** Billing is off (503 `provider_unavailable`) until both Stripe secrets are set. */
    STRIPE_SECRET_KEY: z.string().min(1).optional(),
    STRIPE_WEBHOOK_SECRET: z.string().min(1).optional(),
    /** Another Stripe API endpoint (the local simulator); Stripe's own when unset. */
    STRIPE_API_HOST: z.string().min(1).optional(),
    STRIPE_API_PORT: z.coerce.number().int().min(1).max(65_535).optional(),
    STRIPE_API_PROTOCOL: z.enum(["http", "https"]).optional(),
    /** Credit packs on sale: `[{"id": "credits-5000", "credits": 5000, "priceId": "price_…"}]`. */
    BILLING_CREDIT_PACKS: json(
      z.array(
        z
          .object({
            id: z.string().regex(/^[a-z0-9-]{1,40}$/),
            credits: z.number().int().positive(),
            priceId: z.string().min(1),
          })
          .strict(),
      ),
    ).default([]),
    /** Plans on sale by billing interval: `[{"plan": "pro", "interval": "month", "priceId": "price_…"}]`. */
    BILLING_PLAN_PRICES: json(
      z
        .array(
          z
            .object({
              plan: z.string().regex(/^[a-z0-9-]{1,40}$/),
              interval: z.enum(["month", "year"]),
              priceId: z.string().min(1),
            })
            .strict(),
        )
        .refine(
          (prices) => new Set(prices.map((price) => `${price.plan}:${price.interval}`)).size === prices.length,
          "one price per plan and interval",
        ),
    ).default([]),
    /** Origins that checkout and portal sessions may send the customer back to. */
    BILLING_REDIRECT_ALLOWLIST: originList(),
    /** Days a subscription stays `past_due` with its plan before the cron downgrades it to free. */
    BILLING_GRACE_DAYS: z.coerce.number().int().min(0).max(60).default(7),
  },
  production: (config) =>
    httpsOnly("BILLING_REDIRECT_ALLOWLIST", config.BILLING_REDIRECT_ALLOWLIST, "production redirects must use https"),
});
