import { z } from "@hono/zod-openapi";
import { DateRangeFields } from "../../platform/date-range";
import { CAPABILITIES } from "./registry";

export const ModelsQuery = z.object({ capability: z.enum(CAPABILITIES).optional() }).strict();

export const ModelSchema = z
  .object({
    id: z.string(),
    object: z.literal("model"),
    created: z.number().int(),
    owned_by: z.string().openapi({ description: "The provider that serves it" }),
    capabilities: z.array(z.enum(CAPABILITIES)),
    context_window: z.number().int(),
    max_output_tokens: z.number().int(),
    pricing: z.object({
      input_per_million_tokens_usd: z.number(),
      output_per_million_tokens_usd: z.number(),
      per_audio_minute_usd: z.number().optional(),
      per_million_characters_usd: z.number().optional(),
      per_image_usd: z
        .number()
        .optional()
        .openapi({ description: "At the standard size and quality; HD or larger doubles" }),
    }),
    fallbacks: z.array(z.string()).openapi({ description: "Tried in order when it fails before answering" }),
  })
  .openapi("Model");

export const ModelListSchema = z.object({ object: z.literal("list"), data: z.array(ModelSchema) }).openapi("ModelList");

const Usage = z.object({
  prompt_tokens: z.number().int(),
  completion_tokens: z.number().int(),
  total_tokens: z.number().int(),
  cost_millicredits: z.number().int().openapi({ description: "Stratus: what the request was charged" }),
});

export const ChatCompletionSchema = z
  .object({
    id: z.string(),
    object: z.literal("chat.completion"),
    created: z.number().int(),
    model: z.string(),
    choices: z.array(
      z.object({
        index: z.number().int(),
        message: z.object({
          role: z.literal("assistant"),
          content: z.string().nullable(),
          refusal: z.null(),
          tool_calls: z
            .array(
              z.object({
                id: z.string(),
                type: z.literal("function"),
                function: z.object({ name: z.string(), arguments: z.string() }),
              }),
            )
            .optional(),
        }),
        logprobs: z.null(),
        finish_reason: z.enum(["stop", "length", "tool_calls", "content_filter"]),
      }),
    ),
    usage: Usage,
  })
  .openapi("ChatCompletion");

export const UsageQuery = z.object({ ...DateRangeFields, groupBy: z.enum(["day", "model"]).default("day") }).strict();

const UsageFigures = {
  requests: z.number().int(),
  inputTokens: z.number().int(),
  outputTokens: z.number().int(),
  cost: z.number().openapi({ description: "Exact cost in millicredits, unrounded" }),
  charged: z.number().int().openapi({ description: "What was charged, in millicredits" }),
};

export const UsageSummarySchema = z
  .object({
    accountId: z.string(),
    from: z.string(),
    to: z.string(),
    groupBy: z.enum(["day", "model"]),
    items: z.array(z.object({ key: z.string().openapi({ description: "The UTC day or the model" }), ...UsageFigures })),
    totals: z.object(UsageFigures),
  })
  .openapi("UsageSummary");
