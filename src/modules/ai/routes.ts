import { z } from "@hono/zod-openapi";
import { authRoute } from "../../middleware/auth";
import { jsonRequestBody, jsonResponse } from "../../platform/openapi";
import { eventStreamContent } from "../../platform/sse";
import { MAX_AUDIO_BYTES, SpeechBody, TranscriptionForm, TranscriptionSchema } from "./audio/schema";
import { AI_CALL_ERRORS } from "./call-errors";
import { ChatCompletionBody } from "./chat/schema";
import { EmbeddingsBody, EmbeddingsSchema } from "./embeddings/schema";
import { ImagesBody, ImagesSchema } from "./images/schema";
import { ChatCompletionSchema, ModelListSchema, ModelsQuery, UsageQuery, UsageSummarySchema } from "./schema";

const openAiNote =
  "OpenAI-compatible: errors come in OpenAI's `{error: {message, type, code, param}}` shape; 402 answers carry `x-should-retry: false`.";

const chargedHeader = {
  "x-stratus-cost-millicredits": { schema: { type: "integer" as const }, description: "Charged, in millicredits" },
};
const aiErrors = { scope: "ai" as const, rateLimit: "ai" as const, errors: AI_CALL_ERRORS };
/** A JSON answer that spends credits: a retry with the same `Idempotency-Key` replays it. */
const spendingJson = { ...aiErrors, idempotent: "with_spend" as const };

export const listModels = authRoute(
  {
    method: "get",
    path: "/v1/models",
    tags: ["AI"],
    summary: "The models this deployment offers",
    description: `Only models of configured providers are listed. ${openAiNote}`,
    request: { query: ModelsQuery },
    responses: { 200: jsonResponse(ModelListSchema, "Models with capabilities, limits and prices") },
  },
  { scope: "ai", rateLimit: "ai" },
);

/** Base64 images ride in the body: a larger limit than other JSON routes. */
const CHAT_BODY_BYTES = 20 * 1024 * 1024;

export const chatCompletions = authRoute(
  {
    method: "post",
    path: "/v1/chat/completions",
    tags: ["AI"],
    summary: "Create a chat completion (OpenAI-compatible, streaming or not)",
    description: [
      "For the request's account (its credits pay). The most the answer can cost is held first, and `max_tokens` is capped to what the hold covers; the charge is what was used (or, for a stream the client left or that broke, what it received).",
      'Non-streamed answers carry the charge in `x-stratus-cost-millicredits`; streams carry it in the usage chunk (`stream_options.include_usage`) as `usage.cost_millicredits`. A stream that breaks after its first byte ends with a `data: {"error": …}` event and no `[DONE]`.',
      "Image inputs: https URLs are passed to providers that fetch them (Stratus never fetches them); `data:` images up to 5 MB each.",
      openAiNote,
    ].join("\n\n"),
    request: { body: jsonRequestBody(ChatCompletionBody) },
    responses: {
      200: {
        description: "The completion, or its chunks as Server-Sent Events when `stream` is true",
        headers: {
          "x-stratus-cost-millicredits": { schema: { type: "integer" }, description: "Charged (non-streamed answers)" },
        },
        content: {
          "application/json": { schema: ChatCompletionSchema },
          ...eventStreamContent("`data: {chat.completion.chunk}` lines, then `data: [DONE]`"),
        },
      },
    },
  },
  { ...spendingJson, maxBodyBytes: CHAT_BODY_BYTES },
);

export const getUsage = authRoute(
  {
    method: "get",
    path: "/v1/usage",
    tags: ["AI"],
    summary: "AI usage of the request's account, by day or by model",
    description:
      "The caller's own usage, or an org's (the org named by `X-Stratus-Org`; its owners and admins only: members get 403). Ranges up to 366 days.",
    request: { query: UsageQuery },
    responses: { 200: jsonResponse(UsageSummarySchema, "Requests, tokens, cost and charge per group, and totals") },
  },
  { scope: "ai" },
);

export const createEmbeddings = authRoute(
  {
    method: "post",
    path: "/v1/embeddings",
    tags: ["AI"],
    summary: "Create embeddings (OpenAI-compatible)",
    description: `For the request's account (its credits pay): what the input can cost is held, then the provider's count is charged (\`x-stratus-cost-millicredits\`, and \`usage.cost_millicredits\`). ${openAiNote}`,
    request: { body: jsonRequestBody(EmbeddingsBody) },
    responses: {
      200: {
        description: "One vector per input, in order",
        headers: {
          "x-stratus-cost-millicredits": { schema: { type: "integer" }, description: "Charged, in millicredits" },
        },
        content: { "application/json": { schema: EmbeddingsSchema } },
      },
    },
  },
  spendingJson,
);

export const createTranscription = authRoute(
  {
    method: "post",
    path: "/v1/audio/transcriptions",
    tags: ["AI"],
    summary: "Transcribe audio (OpenAI-compatible)",
    description: `A multipart upload up to 25 MB. Held for the longest the file can play, charged for the duration the provider reports. \`response_format\`: json, text, verbose_json (language, duration, segments with timestamps), srt or vtt. ${openAiNote}`,
    request: { body: { content: { "multipart/form-data": { schema: TranscriptionForm } } } },
    responses: {
      200: {
        description: "The transcript, in the asked format",
        headers: chargedHeader,
        content: {
          "application/json": { schema: TranscriptionSchema },
          "text/plain": { schema: z.string() },
          "text/vtt": { schema: z.string() },
          "application/x-subrip": { schema: z.string() },
        },
      },
    },
  },
  { ...aiErrors, maxBodyBytes: MAX_AUDIO_BYTES + 64 * 1024 },
);

export const createSpeech = authRoute(
  {
    method: "post",
    path: "/v1/audio/speech",
    tags: ["AI"],
    summary: "Speak a text (OpenAI-compatible)",
    description: `Up to 4 096 characters, charged by the character (known before the call). ${openAiNote}`,
    request: { body: jsonRequestBody(SpeechBody) },
    responses: {
      200: {
        description: "The audio, streamed as it is produced",
        headers: chargedHeader,
        content: { "audio/mpeg": { schema: z.string().openapi({ format: "binary" }) } },
      },
    },
  },
  aiErrors,
);

export const createImages = authRoute(
  {
    method: "post",
    path: "/v1/images/generations",
    tags: ["AI"],
    summary: "Generate images (OpenAI-compatible)",
    description: `The images' price is held before the call and the images made are charged (HD or a large size costs double). URLs are the provider's own, valid for a limited time. ${openAiNote}`,
    request: { body: jsonRequestBody(ImagesBody) },
    responses: {
      200: {
        description: "The images",
        headers: chargedHeader,
        content: { "application/json": { schema: ImagesSchema } },
      },
    },
  },
  spendingJson,
);
