import { configOf } from "../../../env";
import { withFallbacks } from "../fallbacks";
import { type AiCaller, holdCredits, settleInBackground } from "../metering";
import { ceilingPrices, chargeOf, costOf } from "../pricing";
import { embeddingsProviderOf } from "../providers";
import { ProviderError } from "../providers/types";
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
  const estimate = input.reduce((tokens, text) => tokens + Math.ceil(text.length / 3), 0);
  const held = chargeOf(costOf(ceilingPrices(deployments), estimate, 0));
  const hold = held > 0 ? await holdCredits(caller, held) : null;
  const started = Date.now();
  const circuit = { threshold: config.AI_CIRCUIT_FAILURES, cooldownMs: config.AI_CIRCUIT_COOLDOWN_MS };
  const usage = {
    endpoint: "embeddings",
    requestedModel: body.model,
    outputTokens: 0,
    timeToFirstTokenMs: null,
  };
  try {
    const { model, result } = await withFallbacks(
      deployments,
      clientSignal,
      { logger: caller.logger, circuit },
      async (attempt) => {
        const timeout = AbortSignal.timeout(config.AI_FIRST_TOKEN_TIMEOUT_MS);
        const signal = AbortSignal.any([attempt.signal, timeout]);
        const request = {
          model: attempt.model.upstream,
          input,
          ...(body.dimensions ? { dimensions: body.dimensions } : {}),
        };
        try {
          return {
            model: attempt.model,
            result: await embeddingsProviderOf(config, attempt.model.provider).embed(request, signal),
          };
        } catch (error) {
          if (timeout.aborted) throw new ProviderError(`${attempt.model.provider}: no answer in time`, true);
          throw error;
        }
      },
    );
    const cost = costOf(model.prices, result.inputTokens, 0);
    const charged = chargeOf(cost);
    settleInBackground(caller, hold, {
      ...usage,
      model: model.id,
      provider: model.provider,
      inputTokens: result.inputTokens,
      cost,
      charged,
      latencyMs: Date.now() - started,
      status: "completed",
    });
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
  } catch (error) {
    settleInBackground(caller, hold, {
      ...usage,
      model: null,
      provider: null,
      inputTokens: 0,
      cost: 0,
      charged: 0,
      latencyMs: Date.now() - started,
      status: "failed",
    });
    throw error;
  }
}
