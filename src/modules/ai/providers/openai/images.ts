import type { ImagesProvider } from "../types";
import { clientOf, type OpenAiSettings, providerErrorOf } from "./client";

/** Image generation through the `openai` SDK. */
export function openAiImages(settings: OpenAiSettings): ImagesProvider {
  const client = clientOf(settings);
  return {
    async generate(request, signal) {
      try {
        const answer = await client.images.generate(
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
        return (answer.data ?? []).map((image) => ({
          ...(image.url ? { url: image.url } : {}),
          ...(image.b64_json ? { b64Json: image.b64_json } : {}),
          ...(image.revised_prompt ? { revisedPrompt: image.revised_prompt } : {}),
        }));
      } catch (error) {
        throw providerErrorOf(error, signal, settings.label ?? "openai");
      }
    },
  };
}
