import { authRoute } from "../../middleware/auth";
import { defineRoute, jsonRequestBody, jsonResponse } from "../../platform/openapi";
import {
  AccountIdParams,
  LimitsSchema,
  OrgIdParams,
  PlanListSchema,
  PlanOverrideSchema,
  SetOverrideBody,
  TopRefusedQuery,
  TopRefusedSchema,
} from "./schema";

export const listPlans = defineRoute({
  method: "get",
  path: "/v1/billing/plans",
  tags: ["Plans"],
  summary: "Every plan with its entitlements (public)",
  responses: { 200: jsonResponse(PlanListSchema, "The plans, cheapest first") },
});

export const setOverride = authRoute(
  {
    method: "put",
    path: "/v1/admin/plans/overrides/{accountId}",
    tags: ["Admin"],
    summary: "Put an account on a plan, whatever its subscription, until the override is deleted",
    request: { params: AccountIdParams, body: jsonRequestBody(SetOverrideBody) },
    responses: { 200: jsonResponse(PlanOverrideSchema, "The override") },
  },
  { admin: true },
);

export const deleteOverride = authRoute(
  {
    method: "delete",
    path: "/v1/admin/plans/overrides/{accountId}",
    tags: ["Admin"],
    summary: "Remove an account's plan override",
    request: { params: AccountIdParams },
    responses: { 204: { description: "Removed" } },
  },
  { admin: true },
);

export const myLimits = authRoute({
  method: "get",
  path: "/v1/me/limits",
  tags: ["Plans"],
  summary: "The request account's plan, limits and quota usage with reset times",
  description:
    "The caller's own account, or the org named by `X-Stratus-Org` (`OpenAI-Organization`) for its members, like every account-scoped route.",
  responses: { 200: jsonResponse(LimitsSchema, "Plan, limits and usage") },
});

export const orgLimits = authRoute({
  method: "get",
  path: "/v1/orgs/{orgId}/limits",
  tags: ["Plans"],
  summary: "An organization's plan, limits and quota usage (members)",
  description: "An alias of `GET /v1/me/limits` with `X-Stratus-Org: {orgId}`, kept for existing clients.",
  request: { params: OrgIdParams },
  responses: { 200: jsonResponse(LimitsSchema, "Plan, limits and usage") },
});

export const topRefused = authRoute(
  {
    method: "get",
    path: "/v1/admin/rate-limits/top",
    tags: ["Admin"],
    summary: "The limit keys refused most in the last hour and day",
    description:
      "Refusals reach this list within about a minute (each limiter object adds its own every 30 s) and are counted per 5-minute bucket, kept 2 days. Keys: `key:` API key, `usr:` user, `ip:` address or IPv6 /64, `org:` org-wide cap, `login:` / `email:` a hashed email under brute-force limits.",
    request: { query: TopRefusedQuery },
    responses: { 200: jsonResponse(TopRefusedSchema, "Most refused keys, most first") },
  },
  { admin: true },
);
