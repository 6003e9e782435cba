import { z } from "@hono/zod-openapi";

/** `POST /v1/embeddings` as OpenAI defines it; fields not listed are accepted and dropped. */

const MAX_INPUTS = 2_048;
/** About 8 000 tokens of text. */
const MAX_INPUT_CHARS = 32_000;

const Text = z.string().min(1, "must not be empty").max(MAX_INPUT_CHARS);

export const EmbeddingsBody = z
  .object({
    model: z.string().min(1).max(200),
    input: z
      .union([Text, z.array(Text).min(1).max(MAX_INPUTS)])
      .openapi({ description: "A text or up to 2 048 texts" }),
    dimensions: z.number().int().min(1).max(4_096).optional(),
    encoding_format: z.enum(["float", "base64"]).default("float"),
  })
  .openapi("EmbeddingsRequest", { description: "OpenAI's request; fields not listed are accepted and dropped." });
export type EmbeddingsBody = z.infer<typeof EmbeddingsBody>;

export const EmbeddingsSchema = z
  .object({
    object: z.literal("list"),
    data: z.array(
      z.object({
        object: z.literal("embedding"),
        index: z.number().int(),
        embedding: z.union([
          z.array(z.number()),
          z.string().openapi({ description: "base64 of little-endian float32" }),
        ]),
      }),
    ),
    model: z.string(),
    usage: z.object({
      prompt_tokens: z.number().int(),
      total_tokens: z.number().int(),
      cost_millicredits: z.number().int().openapi({ description: "Stratus: what the request was charged" }),
    }),
  })
  .openapi("Embeddings");
