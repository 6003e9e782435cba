import type { Config } from "../../env";
import { AppError } from "../../platform/errors";

/**
 * The model registry, in one place: every model Stratus offers, the provider and upstream name
 * that serve it, what it can do, its limits and its prices, and the ordered fallbacks tried
 * when it fails before answering. A provider's models are offered only when it is configured.
 */

const PROVIDERS = ["openai", "anthropic", "google", "mistral", "compatible"] as const;
export type ProviderId = (typeof PROVIDERS)[number];

export const CAPABILITIES = [
  "chat",
  "vision",
  "tools",
  "json_schema",
  "embeddings",
  "transcription",
  "speech",
  "images",
] as const;
export type Capability = (typeof CAPABILITIES)[number];

/**
 * US$ per 1 million tokens (1 millicredit is US$0.000001, so this is also millicredits per
 * token); audio models also by the minute of audio or the million characters spoken.
 */
export type Prices = {
  inputPerMillion: number;
  outputPerMillion: number;
  perAudioMinute?: number;
  perMillionCharacters?: number;
  /** US$ per image at the model's standard size and quality. */
  perImage?: number;
};

export type Model = {
  id: string;
  provider: ProviderId;
  upstream: string;
  capabilities: readonly Capability[];
  contextWindow: number;
  defaultMaxOutput: number;
  maxOutput: number;
  prices: Prices;
  /** Other models tried in order when this one fails before its first byte. */
  fallbacks: readonly string[];
};

const CHAT: readonly Capability[] = ["chat", "vision", "tools", "json_schema"];
/** Embedding and audio models: no output tokens, so no output limits. */
const EMBEDDINGS: readonly Capability[] = ["embeddings"];
const NO_TOKENS = { inputPerMillion: 0, outputPerMillion: 0 };

const MODELS: readonly Model[] = [
  {
    id: "gpt-4o-mini",
    provider: "openai",
    upstream: "gpt-4o-mini",
    capabilities: CHAT,
    contextWindow: 128_000,
    defaultMaxOutput: 4_096,
    maxOutput: 16_384,
    prices: { inputPerMillion: 0.15, outputPerMillion: 0.6 },
    fallbacks: ["claude-3-5-haiku"],
  },
  {
    id: "gpt-4o",
    provider: "openai",
    upstream: "gpt-4o",
    capabilities: CHAT,
    contextWindow: 128_000,
    defaultMaxOutput: 4_096,
    maxOutput: 16_384,
    prices: { inputPerMillion: 2.5, outputPerMillion: 10 },
    fallbacks: ["claude-sonnet-4"],
  },
  {
    id: "gemini-2.0-flash",
    provider: "google",
    upstream: "gemini-2.0-flash",
    capabilities: CHAT,
    contextWindow: 1_048_576,
    defaultMaxOutput: 4_096,
    maxOutput: 8_192,
    prices: { inputPerMillion: 0.1, outputPerMillion: 0.4 },
    fallbacks: ["gpt-4o-mini"],
  },
  {
    id: "mistral-small",
    provider: "mistral",
    upstream: "mistral-small-latest",
    capabilities: CHAT,
    contextWindow: 128_000,
    defaultMaxOutput: 4_096,
    maxOutput: 32_000,
    prices: { inputPerMillion: 0.1, outputPerMillion: 0.3 },
    fallbacks: ["gpt-4o-mini"],
  },
  {
    id: "claude-3-5-haiku",
    provider: "anthropic",
    upstream: "claude-3-5-haiku-latest",
    capabilities: CHAT,
    contextWindow: 200_000,
    defaultMaxOutput: 4_096,
    maxOutput: 8_192,
    prices: { inputPerMillion: 0.8, outputPerMillion: 4 },
    fallbacks: ["gpt-4o-mini"],
  },
  {
    id: "claude-sonnet-4",
    provider: "anthropic",
    upstream: "claude-sonnet-4-0",
    capabilities: CHAT,
    contextWindow: 200_000,
    defaultMaxOutput: 4_096,
    maxOutput: 64_000,
    prices: { inputPerMillion: 3, outputPerMillion: 15 },
    fallbacks: ["gpt-4o"],
  },
  {
    id: "text-embedding-3-small",
    provider: "openai",
    upstream: "text-embedding-3-small",
    capabilities: EMBEDDINGS,
    contextWindow: 8_191,
    defaultMaxOutput: 0,
    maxOutput: 0,
    prices: { inputPerMillion: 0.02, outputPerMillion: 0 },
    fallbacks: [],
  },
  {
    id: "text-embedding-3-large",
    provider: "openai",
    upstream: "text-embedding-3-large",
    capabilities: EMBEDDINGS,
    contextWindow: 8_191,
    defaultMaxOutput: 0,
    maxOutput: 0,
    prices: { inputPerMillion: 0.13, outputPerMillion: 0 },
    fallbacks: [],
  },
  {
    id: "mistral-embed",
    provider: "mistral",
    upstream: "mistral-embed",
    capabilities: EMBEDDINGS,
    contextWindow: 8_192,
    defaultMaxOutput: 0,
    maxOutput: 0,
    prices: { inputPerMillion: 0.1, outputPerMillion: 0 },
    fallbacks: [],
  },
  {
    id: "whisper-1",
    provider: "openai",
    upstream: "whisper-1",
    capabilities: ["transcription"],
    contextWindow: 0,
    defaultMaxOutput: 0,
    maxOutput: 0,
    prices: { ...NO_TOKENS, perAudioMinute: 0.006 },
    fallbacks: [],
  },
  {
    id: "tts-1",
    provider: "openai",
    upstream: "tts-1",
    capabilities: ["speech"],
    contextWindow: 4_096,
    defaultMaxOutput: 0,
    maxOutput: 0,
    prices: { ...NO_TOKENS, perMillionCharacters: 15 },
    fallbacks: [],
  },
  {
    id: "dall-e-3",
    provider: "openai",
    upstream: "dall-e-3",
    capabilities: ["images"],
    contextWindow: 4_000,
    defaultMaxOutput: 0,
    maxOutput: 0,
    prices: { ...NO_TOKENS, perImage: 0.04 },
    fallbacks: [],
  },
];

/** What configures each provider: its key (a self-hosted compatible server may need none). */
const CONFIGURED: Record<ProviderId, (config: Config) => unknown> = {
  openai: (config) => config.OPENAI_API_KEY,
  anthropic: (config) => config.ANTHROPIC_API_KEY,
  google: (config) => config.GOOGLE_API_KEY,
  mistral: (config) => config.MISTRAL_API_KEY,
  compatible: (config) => config.OPENAI_COMPATIBLE_BASE_URL,
};

const isConfigured = (config: Config, provider: ProviderId) => Boolean(CONFIGURED[provider](config));

/**
 * The models of an OpenAI-compatible server, as `compatible/<name>`: self-hosted, so priced at
 * zero, with conservative limits (the server's real ones are not known here).
 */
function compatibleModels(config: Config): Model[] {
  return config.OPENAI_COMPATIBLE_MODELS.map((name) => ({
    id: `compatible/${name}`,
    provider: "compatible",
    upstream: name,
    capabilities: ["chat", "tools"],
    contextWindow: 32_768,
    defaultMaxOutput: 2_048,
    maxOutput: 8_192,
    prices: { inputPerMillion: 0, outputPerMillion: 0 },
    fallbacks: [],
  }));
}

/** The models this deployment offers, optionally those with a capability. */
export function availableModels(config: Config, capability?: Capability): Model[] {
  return [...MODELS, ...compatibleModels(config)].filter(
    (model) => isConfigured(config, model.provider) && (!capability || model.capabilities.includes(capability)),
  );
}

/**
 * The deployments to try for a requested model: itself, then its configured fallbacks that
 * can do the same; 404 `model_not_found` for a model not offered here.
 */
export function deploymentsOf(config: Config, modelId: string, needs: readonly Capability[]): Model[] {
  const offered = availableModels(config);
  const model = offered.find((candidate) => candidate.id === modelId);
  if (!model) {
    throw new AppError("model_not_found", `The model "${modelId}" does not exist or is not available here.`, {
      errors: [{ path: "body.model", message: "unknown model: see GET /v1/models" }],
    });
  }
  const missing = needs.filter((capability) => !model.capabilities.includes(capability));
  if (missing.length > 0) {
    throw new AppError("validation_failed", `The model "${modelId}" cannot do ${missing.join(", ")}.`, {
      errors: [{ path: "body.model", message: `lacks ${missing.join(", ")}` }],
    });
  }
  const fallbacks = model.fallbacks
    .map((id) => offered.find((candidate) => candidate.id === id))
    .filter(
      (candidate): candidate is Model => !!candidate && needs.every((need) => candidate.capabilities.includes(need)),
    );
  return [model, ...fallbacks];
}
