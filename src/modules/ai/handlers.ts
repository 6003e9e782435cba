import type { RouteHandler } from "@hono/zod-openapi";
import { accountPermitting } from "../../middleware/tenancy";
import type { AppEnv } from "../../platform/context";
import { sseResponse } from "../../platform/sse";
import { speak, transcribe } from "./audio/service";
import { completeChat } from "./chat/service";
import { createEmbeddings as embed } from "./embeddings/service";
import { generateImages } from "./images/service";
import { callerOf } from "./metering";
import { availableModels } from "./registry";
import type * as routes from "./routes";
import { usageSummary } from "./usage";

type Handler<R extends keyof typeof routes> = RouteHandler<(typeof routes)[R], AppEnv>;

/** Models are listed with a fixed `created`: the registry has no dates, and clients only sort by it. */
const REGISTRY_EPOCH = 1_767_225_600;

export const listModels: Handler<"listModels"> = async (c) => {
  const models = availableModels(c.get("config"), c.req.valid("query").capability);
  return c.json(
    {
      object: "list" as const,
      data: models.map((model) => ({
        id: model.id,
        object: "model" as const,
        created: REGISTRY_EPOCH,
        owned_by: model.provider,
        capabilities: [...model.capabilities],
        context_window: model.contextWindow,
        max_output_tokens: model.maxOutput,
        pricing: {
          input_per_million_tokens_usd: model.prices.inputPerMillion,
          output_per_million_tokens_usd: model.prices.outputPerMillion,
          ...(model.prices.perAudioMinute !== undefined ? { per_audio_minute_usd: model.prices.perAudioMinute } : {}),
          ...(model.prices.perMillionCharacters !== undefined
            ? { per_million_characters_usd: model.prices.perMillionCharacters }
            : {}),
          ...(model.prices.perImage !== undefined ? { per_image_usd: model.prices.perImage } : {}),
        },
        fallbacks: [...model.fallbacks],
      })),
    },
    200,
  );
};

export const chatCompletions: Handler<"chatCompletions"> = async (c) => {
  const outcome = await completeChat(callerOf(c), c.req.valid("json"), c.req.raw.signal);
  if (outcome.kind === "json") {
    c.header("x-stratus-cost-millicredits", String(outcome.chargedMillicredits));
    return c.json(outcome.body, 200);
  }
  return sseResponse(outcome.stream);
};

/** An org's usage is for the people who manage its spending. */
export const getUsage: Handler<"getUsage"> = async (c) =>
  c.json(await usageSummary(c.env, accountPermitting(c, "billing:manage").id, c.req.valid("query")), 200);

export const createEmbeddings: Handler<"createEmbeddings"> = async (c) => {
  const { body, charged } = await embed(callerOf(c), c.req.valid("json"), c.req.raw.signal);
  c.header("x-stratus-cost-millicredits", String(charged));
  return c.json(body, 200);
};

export const createTranscription: Handler<"createTranscription"> = async (c) => {
  const answer = await transcribe(callerOf(c), c.req.valid("form"), c.req.raw.signal);
  c.header("x-stratus-cost-millicredits", String(answer.charged));
  if ("json" in answer) return c.json(answer.json, 200);
  return c.body(answer.text, 200, { "content-type": answer.contentType });
};

export const createSpeech: Handler<"createSpeech"> = async (c) => {
  const spoken = await speak(callerOf(c), c.req.valid("json"), c.req.raw.signal);
  return new Response(spoken.audio, {
    status: 200,
    headers: { "content-type": spoken.contentType, "x-stratus-cost-millicredits": String(spoken.charged) },
  });
};

export const createImages: Handler<"createImages"> = async (c) => {
  const { body, charged } = await generateImages(callerOf(c), c.req.valid("json"), c.req.raw.signal);
  c.header("x-stratus-cost-millicredits", String(charged));
  return c.json(body, 200);
};
