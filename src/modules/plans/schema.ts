import { z } from "@hono/zod-openapi";

const PlanSchema = z
  .object({
    id: z.string().openapi({ example: "premium" }),
    name: z.string(),
    requestsPerMinute: z.number().int(),
    authRequestsPerMinute: z.number().int(),
    aiRequestsPerMinute: z.number().int(),
    uploadRequestsPerMinute: z.number().int(),
    orgRequestsPerMinute: z
      .number()
      .int()
      .nullable()
      .openapi({ description: "Org-wide cap over all members and keys; null: none" }),
    monthlyIncludedMillicredits: z.number().int().openapi({ description: "1 credit = 1 000 millicredits = US$0.001" }),
    maxUploadBytes: z.number().int(),
    storageQuotaBytes: z.number().int(),
    translatedCharactersPerMonth: z.number().int(),
    bulkJobs: z.boolean(),
    maxOrgMembers: z.number().int(),
    compressionRetentionDays: z
      .number()
      .int()
      .openapi({ description: "Days a file of purpose `compression` is kept; other files stay until deleted" }),
  })
  .openapi("Plan");

export const PlanListSchema = z.object({ items: z.array(PlanSchema) }).openapi("PlanList");

export const AccountIdParams = z
  .object({
    accountId: z
      .string()
      .regex(/^(usr|org)_[0-9A-HJKMNP-TV-Z]{26}$/, "must be a user or org id")
      .openapi({ example: "org_01JD0000000000000000000000" }),
  })
  .strict();

export const SetOverrideBody = z
  .object({ planId: z.string().min(1).max(64) })
  .strict()
  .openapi("SetPlanOverrideRequest");

export const PlanOverrideSchema = z
  .object({ accountId: z.string(), planId: z.string(), setBy: z.string(), createdAt: z.string() })
  .openapi("PlanOverride");

export const LimitsSchema = z
  .object({
    accountId: z.string(),
    plan: PlanSchema,
    quotas: z.array(
      z.object({
        metric: z.enum(["translated_characters", "storage_bytes"]),
        used: z.number().int(),
        limit: z.number().int(),
        resetsAt: z
          .string()
          .nullable()
          .openapi({ description: "Start of the next period; null for a level that never resets" }),
      }),
    ),
  })
  .openapi("Limits");

export const OrgIdParams = z
  .object({ orgId: z.string().regex(/^org_[0-9A-HJKMNP-TV-Z]{26}$/, "must be an org id") })
  .strict();

export const TopRefusedQuery = z
  .object({ limit: z.coerce.number().int().min(1).max(100).default(20).openapi({ example: 20 }) })
  .strict();

const RefusedListSchema = z.object({
  since: z.string().openapi({ description: "Start of the first bucket counted" }),
  items: z.array(
    z.object({
      key: z.string().openapi({ example: "usr:usr_01JD0000000000000000000000" }),
      kind: z.string().openapi({ description: "key, usr, ip, org, login or email", example: "usr" }),
      refused: z.number().int(),
      lastBucketAt: z.string().openapi({ description: "Start of the newest bucket with refusals" }),
    }),
  ),
});

export const TopRefusedSchema = z
  .object({
    bucketSeconds: z.number().int().openapi({ description: "Counts are kept per bucket of this length" }),
    hour: RefusedListSchema,
    day: RefusedListSchema,
  })
  .openapi("RateLimitTop");
