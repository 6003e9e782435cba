import { z } from "@hono/zod-openapi";
import { IMAGE_SIZES } from "../providers/types";

/** `POST /v1/images/generations` as OpenAI defines it; fields not listed are accepted and dropped. */
export const ImagesBody = z
  .object({
    model: z.string().min(1).max(200),
    prompt: z.string().min(1).max(4_000),
    n: z.number().int().min(1).max(4).default(1),
    size: z.enum(IMAGE_SIZES).default("1024x1024"),
    quality: z.enum(["standard", "hd"]).default("standard"),
    response_format: z.enum(["url", "b64_json"]).default("url"),
  })
  .openapi("ImagesRequest", { description: "OpenAI's request; fields not listed are accepted and dropped." });
export type ImagesBody = z.infer<typeof ImagesBody>;

export const ImagesSchema = z
  .object({
    created: z.number().int(),
    data: z.array(
      z.object({
        url: z.string().optional().openapi({ description: "Served by the provider, for a limited time" }),
        b64_json: z.string().optional(),
        revised_prompt: z.string().optional(),
      }),
    ),
    usage: z.object({ cost_millicredits: z.number().int().openapi({ description: "Stratus: what was charged" }) }),
  })
  .openapi("Images");
