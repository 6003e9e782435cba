import { z } from "@hono/zod-openapi";
import { PaginationQuery } from "../../../platform/pagination";
import { PRESET_VISIBILITIES } from "../tables";

export const PresetParams = z
  .object({
    id: z
      .string()
      .regex(/^prs_[0-9A-HJKMNP-TV-Z]{26}$/, "must be a preset id")
      .openapi({ example: "prs_01JD0000000000000000000000" }),
  })
  .strict();

const NameSchema = z.string().trim().min(1).max(100);
const CategorySchema = z
  .string()
  .max(50)
  .regex(/^[a-z0-9]+(?:-[a-z0-9]+)*$/, "must be a lower-case slug (a-z, 0-9, single hyphens)")
  .openapi({ example: "support" });
const SystemPromptSchema = z.string().max(20_000);
const ModelSchema = z
  .string()
  .min(1)
  .max(200)
  .openapi({ description: "A model id; checked when the preset is used, not here", example: "gpt-4o-mini" });

const PresetParametersSchema = z
  .object({
    temperature: z.number().min(0).max(2).optional(),
    topP: z.number().min(0).max(1).optional(),
    maxTokens: z.number().int().min(1).max(100_000).optional(),
    stop: z.array(z.string().min(1).max(200)).max(4).optional(),
  })
  .strict()
  .openapi("PresetParameters");

const VisibilitySchema = z.enum(PRESET_VISIBILITIES);

export const CreatePresetBody = z
  .object({
    name: NameSchema,
    category: CategorySchema,
    systemPrompt: SystemPromptSchema.default(""),
    model: ModelSchema,
    parameters: PresetParametersSchema.default({}),
    visibility: VisibilitySchema.optional().openapi({
      description:
        "`private` (the caller's own) or `org` (shared with the org named by `X-Stratus-Org`). Defaults to the request's account: `org` with an org, else `private`.",
    }),
  })
  .strict()
  .openapi("CreatePresetRequest");

export const UpdatePresetBody = z
  .object({
    name: NameSchema.optional(),
    category: CategorySchema.optional(),
    systemPrompt: SystemPromptSchema.optional(),
    model: ModelSchema.optional(),
    parameters: PresetParametersSchema.optional().openapi({ description: "Replaces the parameters as a whole" }),
  })
  .strict()
  .refine((body) => Object.keys(body).length > 0, "give at least one field to change")
  .openapi("UpdatePresetRequest");

export const PresetsQuery = PaginationQuery.extend({ category: CategorySchema.optional() }).strict();

export const PresetSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    category: z.string(),
    systemPrompt: z.string(),
    model: z.string(),
    parameters: PresetParametersSchema,
    visibility: VisibilitySchema,
    orgId: z.string().nullable().openapi({ description: "The org it is shared with; null when private" }),
    createdBy: z.string(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .openapi("Preset", { description: "A saved system prompt, model and parameters" });

export const PresetListSchema = z
  .object({ items: z.array(PresetSchema), nextCursor: z.string().nullable() })
  .openapi("PresetList");
