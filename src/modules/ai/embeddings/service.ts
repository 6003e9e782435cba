import { type AiCaller, pricedCall } from "../metering";
import { costOf, textTokens } from "../pricing";
import { embeddingsProviderOf } from "../providers";
import { deploymentsOf } from "../registry";
import type { EmbeddingsBody } from "./schema";

/**
 * Embeddings: hold what the input can cost (3 characters a token, at the highest price among
 * the deployments), embed with retries and fallbacks, settle what the provider counted (or,
 * when its count is missing or not believable, that estimate).
 */

/** Float32, little-endian, base64: what OpenAI answers for `encoding_format: "base64"`. */
function base64Of(vector: number[]): string {
  const bytes = new Uint8Array(new Float32Array(vector).buffer);
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary);
}

export async function createEmbeddings(caller: AiCaller, body: EmbeddingsBody, clientSignal: AbortSignal) {
  const config = caller.config;
  const input = typeof body.input === "string" ? [body.input] : body.input;
  const estimate = input.reduce((tokens, text) => tokens + textTokens(text), 0);
  const request = { input, ...(body.dimensions ? { dimensions: body.dimensions } : {}) };
  const { result, charged } = await pricedCall(
    caller,
    {
      endpoint: "embeddings",
      requestedModel: body.model,
      sentFields: Object.keys(body),
      deployments: deploymentsOf(config, body.model, ["embeddings"]),
      ceiling: (model) => costOf(model.prices, estimate, 0),
      timeoutMs: config.AI_FIRST_TOKEN_TIMEOUT_MS,
      run: (model, signal) =>
        embeddingsProviderOf(config, model.provider).embed({ ...request, model: model.upstream }, signal),
      measure: (model, embedded) => {
        const inputTokens = embedded.inputTokens ?? estimate;
        return { cost: costOf(model.prices, inputTokens, 0), inputTokens, estimated: embedded.inputTokens === null };
      },
    },
    clientSignal,
  );
  return {
    charged,
    body: {
      object: "list" as const,
      data: result.vectors.map((vector, index) => ({
        object: "embedding" as const,
        index,
        embedding: body.encoding_format === "base64" ? base64Of(vector) : vector,
      })),
      model: body.model,
      usage: {
        prompt_tokens: result.inputTokens ?? estimate,
        total_tokens: result.inputTokens ?? estimate,
        cost_millicredits: charged,
      },
    },
  };
}
