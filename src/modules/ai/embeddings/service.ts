import { configOf } from "../../../env";
import { circuitSettingsOf } from "../circuit";
import { withFallbacks, within } from "../fallbacks";
import { type AiCaller, holdCredits, metered } from "../metering";
import { ceilingPrices, chargeOf, costOf, textTokens } from "../pricing";
import { embeddingsProviderOf } from "../providers";
import { deploymentsOf } from "../registry";
import type { EmbeddingsBody } from "./schema";

/**
 * Embeddings: hold what the input can cost (3 characters a token, at the highest price among
 * the deployments), embed with retries and fallbacks, settle what the provider counted.
 */

/** Float32, little-endian, base64: what OpenAI answers for `encoding_format: "base64"`. */
function base64Of(vector: number[]): string {
  const bytes = new Uint8Array(new Float32Array(vector).buffer);
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary);
}

export async function createEmbeddings(caller: AiCaller, body: EmbeddingsBody, clientSignal: AbortSignal) {
  const config = configOf(caller.env);
  const deployments = deploymentsOf(config, body.model, ["embeddings"]);
  const input = typeof body.input === "string" ? [body.input] : body.input;
  const estimate = input.reduce((tokens, text) => tokens + textTokens(text), 0);
  const held = chargeOf(costOf(ceilingPrices(deployments), estimate, 0));
  const hold = held > 0 ? await holdCredits(caller, held) : null;
  const request = { input, ...(body.dimensions ? { dimensions: body.dimensions } : {}) };
  const { result, charged } = await metered(
    caller,
    hold,
    { endpoint: "embeddings", requestedModel: body.model },
    () =>
      withFallbacks(
        deployments,
        clientSignal,
        { logger: caller.logger, circuit: circuitSettingsOf(config) },
        async (attempt) => {
          const provider = embeddingsProviderOf(config, attempt.model.provider);
          const result = await within(config.AI_FIRST_TOKEN_TIMEOUT_MS, attempt, (signal) =>
            provider.embed({ ...request, model: attempt.model.upstream }, signal),
          );
          return { model: attempt.model, result };
        },
      ),
    ({ model, result }) => ({ cost: costOf(model.prices, result.inputTokens, 0), inputTokens: result.inputTokens }),
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
      usage: { prompt_tokens: result.inputTokens, total_tokens: result.inputTokens, cost_millicredits: charged },
    },
  };
}
