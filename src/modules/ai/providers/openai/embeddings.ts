import { z } from "zod";
import { checkAnswer } from "../../../../platform/upstreams/answers";
import { UpstreamError } from "../../../../platform/upstreams/error";
import { TokenCount } from "../answers";
import type { EmbeddingsProvider } from "../types";
import { clientOf, type OpenAiSettings, providerErrorOf } from "./client";

/** The largest vector any embeddings model here answers (text-embedding-3-large has 3 072). */
const MAX_DIMENSIONS = 16_384;

/** What is used of OpenAI's answer: every vector, by index, and the input tokens (checked apart). */
const AnswerSchema = z.object({
  data: z.array(
    z.object({
      index: z.number().int().min(0),
      embedding: z.array(z.number().finite()).min(1).max(MAX_DIMENSIONS),
    }),
  ),
  usage: z.object({ prompt_tokens: z.unknown().optional() }).nullish(),
});

/** Embeddings through the `openai` SDK, as floats (the module encodes base64 if asked). */
export function openAiEmbeddings(settings: OpenAiSettings): EmbeddingsProvider {
  const client = clientOf(settings);
  const label = settings.label ?? "openai";
  return {
    async embed(request, signal) {
      let answer: unknown;
      try {
        answer = await client.embeddings.create(
          {
            model: request.model,
            input: request.input,
            encoding_format: "float",
            ...(request.dimensions ? { dimensions: request.dimensions } : {}),
          },
          { signal },
        );
      } catch (error) {
        throw providerErrorOf(error, signal, settings);
      }
      const checked = checkAnswer(AnswerSchema, answer);
      if (!checked.ok) throw UpstreamError.invalidAnswer(label, checked.problem);
      const { data, usage } = checked.value;
      // One vector per input, each index once, all of one length (the asked one, if any).
      const vectors: number[][] = [];
      for (const item of data) {
        if (item.index >= request.input.length || vectors[item.index]) {
          throw UpstreamError.invalidAnswer(label, `index ${item.index} of ${request.input.length}`);
        }
        vectors[item.index] = item.embedding;
      }
      const length = request.dimensions ?? vectors[0]?.length;
      if (data.length !== request.input.length || vectors.some((vector) => vector.length !== length)) {
        throw UpstreamError.invalidAnswer(label, "vectors do not match the inputs");
      }
      const tokens = TokenCount.safeParse(usage?.prompt_tokens);
      return { vectors, inputTokens: tokens.success ? tokens.data : null };
    },
  };
}
