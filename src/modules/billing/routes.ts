import { z } from "@hono/zod-openapi";
import { defineRoute, jsonRequestBody, jsonResponse } from "../../platform/openapi";
import { PaginationQuery } from "../../platform/pagination";
import { authRoute } from "../identity/auth";
import { AdjustCreditsBody, AdjustmentSchema, CreditsSchema, LedgerPageSchema } from "./schema";

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
