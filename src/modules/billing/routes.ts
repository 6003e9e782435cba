import { z } from "@hono/zod-openapi";
import { authRoute } from "../../middleware/auth";
import type { ErrorCode } from "../../platform/errors";
import { defineRoute, jsonRequestBody, jsonResponse } from "../../platform/openapi";
import { PaginationQuery } from "../../platform/pagination";
import {
  AdjustCreditsBody,
  AdjustmentSchema,
  ChangeSubscriptionBody,
  CheckoutBody,
  CheckoutSessionSchema,
  CreditsSchema,
  InvoicePageSchema,
  InvoicesQuery,
  LedgerPageSchema,
  PortalBody,
  PortalSessionSchema,
  SubscriptionSchema,
  SubscriptionStateSchema,
  WalletCopiesSchema,
} from "./schema";

const accountNote =
  "For the request's account: the caller, or the org named by `X-Stratus-Org` (any member may read it).";

export const getCredits = authRoute({
  method: "get",
  path: "/v1/credits",
  tags: ["Credits"],
  summary: "Credit balances per bucket and open holds",
  description: accountNote,
  responses: { 200: jsonResponse(CreditsSchema, "Balances and holds") },
});

export const getLedger = authRoute({
  method: "get",
  path: "/v1/credits/ledger",
  tags: ["Credits"],
  summary: "The credit ledger, newest first",
  description: accountNote,
  request: { query: PaginationQuery },
  responses: { 200: jsonResponse(LedgerPageSchema, "A page of ledger entries") },
});

export const adjustCredits = authRoute(
  {
    method: "post",
    path: "/v1/admin/credits/adjust",
    tags: ["Admin"],
    summary: "Add or remove an account's credits (audited)",
    description: "409 when a removal would take the bucket below zero. Honours `Idempotency-Key`.",
    request: { body: jsonRequestBody(AdjustCreditsBody) },
    responses: { 201: jsonResponse(AdjustmentSchema, "The ledger entry and the new balances") },
  },
  { admin: true, idempotent: true, errors: ["conflict"] },
);

export const walletCopies = authRoute(
  {
    method: "get",
    path: "/v1/admin/wallet-copies",
    tags: ["Admin"],
    summary: "How the D1 copy of the account wallets stands: lag, gaps and checkpoint mismatches",
    responses: { 200: jsonResponse(WalletCopiesSchema, "The copy's health") },
  },
  { admin: true },
);

export const stripeWebhook = defineRoute(
  {
    method: "post",
    path: "/v1/billing/webhook",
    tags: ["Billing"],
    summary: "Stripe webhook endpoint",
    description:
      "Verifies `Stripe-Signature` over the raw body (300 s tolerance), stores the event by id and answers at once; the event is processed on the queue, at most once per id. Any verification failure is 400 and writes nothing. Not rate limited: callers are verified by signature.",
    request: { headers: z.object({ "stripe-signature": z.string().min(1).max(4096) }) },
    responses: { 200: jsonResponse(z.object({ received: z.literal(true) }), "Stored for processing") },
  },
  { rateLimit: "webhook", errors: ["invalid_signature", "payload_too_large", "provider_unavailable"] },
);

export const replayStripeEvent = authRoute(
  {
    method: "post",
    path: "/v1/admin/billing/events/{eventId}/replay",
    tags: ["Admin"],
    summary: "Process a stored Stripe event again (audited)",
    description:
      "For an event that failed (after a fix) or needs re-applying: its effects are keyed, so replaying one already applied changes nothing. 409 while a consumer is processing it.",
    request: {
      params: z
        .object({ eventId: z.string().regex(/^evt_[A-Za-z0-9_]{1,255}$/, "must be a Stripe event id") })
        .strict(),
    },
    responses: {
      202: jsonResponse(
        z.object({ eventId: z.string(), taskId: z.string(), status: z.literal("received") }),
        "Sent to the queue again",
      ),
    },
  },
  { admin: true, errors: ["conflict"] },
);

const managerNote =
  "For the request's account: the caller's own, or the org named by `X-Stratus-Org` (owners and admins only: members get 403). 503 when Stripe fails.";

export const openCheckout = authRoute(
  {
    method: "post",
    path: "/v1/billing/checkout",
    tags: ["Billing"],
    summary: "Open a Stripe Checkout for a plan or a credit pack",
    description: `${managerNote} 409 for a plan while a subscription is live (change it instead). Honours \`Idempotency-Key\`.`,
    request: { body: jsonRequestBody(CheckoutBody) },
    responses: { 201: jsonResponse(CheckoutSessionSchema, "Send the customer to its URL") },
  },
  { idempotent: true, errors: ["conflict", "provider_unavailable"] },
);

export const openPortal = authRoute(
  {
    method: "post",
    path: "/v1/billing/portal",
    tags: ["Billing"],
    summary: "Open the Stripe Billing Portal",
    description: managerNote,
    request: { body: jsonRequestBody(PortalBody) },
    responses: { 201: jsonResponse(PortalSessionSchema, "Send the customer to its URL") },
  },
  { errors: ["provider_unavailable"] },
);

export const getSubscription = authRoute({
  method: "get",
  path: "/v1/billing/subscription",
  tags: ["Billing"],
  summary: "The account's plan and newest subscription",
  description: accountNote,
  responses: { 200: jsonResponse(SubscriptionStateSchema, "The effective plan and the subscription, if any") },
});

const subscriptionChange = { 200: jsonResponse(SubscriptionSchema, "The subscription as Stripe now describes it") };
const subscriptionErrors = { errors: ["conflict", "provider_unavailable"] as ErrorCode[] };

const subscriptionAction = (path: string, summary: string, description: string) =>
  authRoute(
    {
      method: "post",
      path,
      tags: ["Billing"],
      summary,
      description: `${managerNote} ${description} 404 without a live subscription.`,
      responses: subscriptionChange,
    },
    subscriptionErrors,
  );

export const cancelSubscription = subscriptionAction(
  "/v1/billing/subscription/cancel",
  "Cancel at the end of the paid period",
  "The plan stays until the period ends.",
);

export const resumeSubscription = subscriptionAction(
  "/v1/billing/subscription/resume",
  "Undo a cancellation before the period ends",
  "409 when it is not set to cancel.",
);

export const changeSubscription = authRoute(
  {
    method: "post",
    path: "/v1/billing/subscription/change",
    tags: ["Billing"],
    summary: "Move to another plan or interval",
    description: `${managerNote} Takes effect once Stripe has charged the prorated difference, at once (402 \`payment_failed\` and no change if that fails; that invoice grants no included credits). 409 when already on it, 404 without a live subscription.`,
    request: { body: jsonRequestBody(ChangeSubscriptionBody) },
    responses: subscriptionChange,
  },
  { errors: ["conflict", "provider_unavailable", "payment_failed"] },
);

export const listInvoices = authRoute(
  {
    method: "get",
    path: "/v1/billing/invoices",
    tags: ["Billing"],
    summary: "The account's invoices, newest first",
    description: `${managerNote} Read from Stripe.`,
    request: { query: InvoicesQuery },
    responses: { 200: jsonResponse(InvoicePageSchema, "A page of invoices") },
  },
  { errors: ["provider_unavailable"] },
);
