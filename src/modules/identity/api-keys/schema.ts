import { z } from "@hono/zod-openapi";
import { API_KEY_SCOPES } from "../../../middleware/permissions";

export const CreateApiKeyBody = z
  .object({
    name: z.string().trim().min(1).max(100),
    scopes: z.array(z.enum(API_KEY_SCOPES)).min(1).max(API_KEY_SCOPES.length),
    orgId: z
      .string()
      .regex(/^org_[0-9A-HJKMNP-TV-Z]{26}$/, "must be an org id")
      .optional()
      .openapi({ description: "Bind the key to an organization (admins and owners): it spends for the org" }),
    expiresAt: z.iso.datetime({ offset: true }).optional().openapi({ example: "2027-01-01T00:00:00Z" }),
    monthlyCreditBudget: z.number().int().min(1).max(1_000_000_000_000).optional().openapi({
      description: "The most the key may spend per calendar month (UTC), in millicredits",
      example: 5_000_000,
    }),
  })
  .strict()
  .openapi("CreateApiKeyRequest");

const ApiKeySchema = z
  .object({
    id: z.string(),
    name: z.string(),
    prefix: z.string().openapi({ description: "The first characters of the secret, to recognise it" }),
    scopes: z.array(z.enum(API_KEY_SCOPES)),
    orgId: z.string().nullable(),
    expiresAt: z.string().nullable(),
    monthlyCreditBudget: z
      .number()
      .int()
      .nullable()
      .openapi({ description: "Millicredits per calendar month; null: no cap" }),
    lastUsedAt: z.string().nullable().openapi({ description: "Accurate to about five minutes" }),
    createdAt: z.string(),
  })
  .openapi("ApiKey");

export const CreatedApiKeySchema = z
  .object({ apiKey: ApiKeySchema, secret: z.string().openapi({ description: "Shown this once; store it now" }) })
  .openapi("CreatedApiKey");

export const ApiKeyListSchema = z
  .object({ items: z.array(ApiKeySchema), nextCursor: z.string().nullable() })
  .openapi("ApiKeyList");

export const ApiKeyParams = z
  .object({ id: z.string().regex(/^key_[0-9A-HJKMNP-TV-Z]{26}$/, "must be a key id") })
  .strict();
