import { authRoute } from "../../middleware/auth";
import type { ErrorCode } from "../../platform/errors";
import { jsonRequestBody, jsonResponse } from "../../platform/openapi";
import {
  DetectBody,
  DetectionSchema,
  LanguagesSchema,
  StatsQuery,
  StatsSchema,
  TranslateBody,
  TranslationSchema,
} from "./schema";

const tags = ["Translation"];
const chargedHeader = {
  "x-stratus-cost-millicredits": { schema: { type: "integer" as const }, description: "Charged, in millicredits" },
};
/** Spends quota and credits: a retry with the same `Idempotency-Key` replays the answer. */
const spending = {
  scope: "translate" as const,
  idempotent: "with_spend" as const,
  errors: ["insufficient_credits", "budget_exceeded", "provider_unavailable"] as ErrorCode[],
};

export const translate = authRoute(
  {
    method: "post",
    path: "/v1/translate",
    tags,
    summary: "Translate texts, in order, through the cache and the providers",
    description: [
      "The request's characters (code points; text nodes only for HTML) are taken from the plan's monthly quota up front, cached segments included: 429 `quota_exceeded` past it, with nothing translated.",
      "Segments found in the cache cost no credits. The misses are held for at the dearest provider that may answer, then charged what the answering provider cost (`x-stratus-cost-millicredits`). Providers are tried in `TRANSLATE_PROVIDERS` order; 503 `provider_unavailable` when none answers.",
    ].join("\n\n"),
    request: { body: jsonRequestBody(TranslateBody) },
    responses: {
      200: {
        description: "One translation per text, in order",
        headers: chargedHeader,
        content: { "application/json": { schema: TranslationSchema } },
      },
    },
  },
  { ...spending, errors: [...spending.errors, "quota_exceeded"] },
);

export const detect = authRoute(
  {
    method: "post",
    path: "/v1/translate/detect",
    tags,
    summary: "Detect the language of texts",
    description:
      "By the first provider that detects (Google, then the AI model), charged like a translation of the texts; the translated-characters quota is not used.",
    request: { body: jsonRequestBody(DetectBody) },
    responses: {
      200: {
        description: "One detection per text, in order",
        headers: chargedHeader,
        content: { "application/json": { schema: DetectionSchema } },
      },
    },
  },
  spending,
);

export const languages = authRoute(
  {
    method: "get",
    path: "/v1/translate/languages",
    tags,
    summary: "The languages each configured provider translates into",
    description: "Each provider's list is cached for a day; a provider that cannot answer is left out.",
    responses: { 200: jsonResponse(LanguagesSchema, "Per provider, BCP 47 codes") },
  },
  { scope: "translate", errors: ["provider_unavailable"] },
);

export const stats = authRoute(
  {
    method: "get",
    path: "/v1/translate/stats",
    tags,
    summary: "Translation statistics of the request's account",
    description:
      "Characters requested, characters served from the cache and the hit rate, in all and per provider: the caller's own, or an org's (`X-Stratus-Org`; its owners and admins only).",
    request: { query: StatsQuery },
    responses: { 200: jsonResponse(StatsSchema, "Sums over the range") },
  },
  { scope: "translate" },
);

export const platformStats = authRoute(
  {
    method: "get",
    path: "/v1/admin/translate/stats",
    tags: ["Admin"],
    summary: "Translation statistics of every account together (platform admins)",
    request: { query: StatsQuery },
    responses: { 200: jsonResponse(StatsSchema, "Sums over the range") },
  },
  { admin: true },
);
