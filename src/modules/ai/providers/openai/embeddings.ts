import type { EmbeddingsProvider } from "../types";
import { clientOf, type OpenAiSettings, providerErrorOf } from "./client";

/** Embeddings through the `openai` SDK, as floats (the module encodes base64 if asked). */
export function openAiEmbeddings(settings: OpenAiSettings): EmbeddingsProvider {
  const client = clientOf(settings);
  return {
    async embed(request, signal) {
      try {
        const answer = await client.embeddings.create(
          {
            model: request.model,
            input: request.input,
            encoding_format: "float",
            ...(request.dimensions ? { dimensions: request.dimensions } : {}),
          },
          { signal },
        );
        const vectors = [...answer.data].sort((a, b) => a.index - b.index).map((item) => item.embedding);
        return { vectors, inputTokens: answer.usage.prompt_tokens };
      } catch (error) {
        throw providerErrorOf(error, signal, settings.label ?? "openai");
      }
    },
  };
}
