import { z } from "zod";
import { checkAnswer } from "../../../../platform/upstreams/answers";
import { UpstreamError } from "../../../../platform/upstreams/error";
import type { ImagesProvider } from "../types";
import { clientOf, type OpenAiSettings, providerErrorOf } from "./client";

/** The provider's own URL of an image (it serves it): http(s) only, never `javascript:` or `data:`. */
const ImageUrl = z
  .string()
  .max(8_192)
  .refine((value) => /^https?:\/\//i.test(value) && URL.canParse(value), "must be an http(s) URL");

/** What is used of an image; a 4096×4096 PNG in base64 stays below the cap. */
const AnswerSchema = z.object({
  data: z.array(
    z.object({
      url: ImageUrl.nullish(),
      b64_json: z
        .string()
        .max(96 * 1024 * 1024)
        .regex(/^[A-Za-z0-9+/]*={0,2}$/)
        .nullish(),
      revised_prompt: z.string().max(32_000).nullish(),
    }),
  ),
});

/** Image generation through the `openai` SDK. */
export function openAiImages(settings: OpenAiSettings): ImagesProvider {
  const client = clientOf(settings);
  const label = settings.label ?? "openai";
  return {
    async generate(request, signal) {
      let answer: unknown;
      try {
        answer = await client.images.generate(
          {
            model: request.model,
            prompt: request.prompt,
            n: request.n,
            size: request.size,
            quality: request.quality,
            response_format: request.format,
          },
          { signal },
        );
      } catch (error) {
        throw providerErrorOf(error, signal, settings);
      }
      const checked = checkAnswer(AnswerSchema, answer);
      if (!checked.ok) throw UpstreamError.invalidAnswer(label, checked.problem);
      const images = checked.value.data;
      // Charged per image made: never more than asked, each in the format asked.
      const inFormat = images.every((image) => (request.format === "url" ? image.url : image.b64_json));
      if (images.length === 0 || images.length > request.n || !inFormat) {
        throw UpstreamError.invalidAnswer(label, `${images.length} images for ${request.n} in ${request.format}`);
      }
      return images.map((image) => ({
        ...(image.url ? { url: image.url } : {}),
        ...(image.b64_json ? { b64Json: image.b64_json } : {}),
        ...(image.revised_prompt ? { revisedPrompt: image.revised_prompt } : {}),
      }));
    },
  };
}
