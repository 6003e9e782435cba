import { z } from "zod";
import { commaList, configFragment } from "../../platform/config";

/** The AI gateway's keys: its providers, time limits, circuits and retention. */
export const aiConfig = configFragment({
  keys: {
    /** AI providers: a provider's models are offered only when its key is set. */
    OPENAI_API_KEY: z.string().min(1).optional(),
    OPENAI_BASE_URL: z.url().default("https://api.openai.com/v1"),
    ANTHROPIC_API_KEY: z.string().min(1).optional(),
    ANTHROPIC_BASE_URL: z.url().default("https://api.anthropic.com"),
    /** Gemini and Mistral through their OpenAI-compatible endpoints. */
    GOOGLE_API_KEY: z.string().min(1).optional(),
    GOOGLE_BASE_URL: z.url().default("https://generativelanguage.googleapis.com/v1beta/openai"),
    MISTRAL_API_KEY: z.string().min(1).optional(),
    MISTRAL_BASE_URL: z.url().default("https://api.mistral.ai/v1"),
    /** Any OpenAI-compatible server (Ollama, vLLM, Groq): its base URL, key if any, and the models to offer. */
    OPENAI_COMPATIBLE_BASE_URL: z.url().optional(),
    OPENAI_COMPATIBLE_API_KEY: z.string().min(1).optional(),
    OPENAI_COMPATIBLE_MODELS: commaList(
      z.string().regex(/^[\w.:/-]{1,100}$/, "model names: letters, digits and . : / _ -"),
    ),
    /** A chat upstream that has not answered with its headers by then is abandoned (retried, or the next). */
    AI_CONNECT_TIMEOUT_MS: z.coerce.number().int().min(100).max(60_000).default(10_000),
    /** An upstream that has not sent its first token by then is abandoned (retried, or the next). */
    AI_FIRST_TOKEN_TIMEOUT_MS: z.coerce.number().int().min(1_000).max(300_000).default(30_000),
    /** The most an AI call may take, end to end; credit holds must outlive it. */
    AI_TOTAL_TIMEOUT_MS: z.coerce.number().int().min(5_000).max(3_600_000).default(300_000),
    /** A provider failing this many times in a row is skipped for the cool-down, then tried once. */
    AI_CIRCUIT_FAILURES: z.coerce.number().int().min(1).max(1_000).default(5),
    AI_CIRCUIT_COOLDOWN_MS: z.coerce.number().int().min(1_000).max(3_600_000).default(30_000),
    /** How long AI usage rows are kept; the cron deletes older ones. */
    AI_USAGE_RETENTION_DAYS: z.coerce.number().int().min(1).max(3_650).default(400),
    /** How long conversation messages are kept; the cron deletes older ones (their conversations stay). */
    AI_MESSAGE_RETENTION_DAYS: z.coerce.number().int().min(1).max(3_650).default(400),
  },
});
