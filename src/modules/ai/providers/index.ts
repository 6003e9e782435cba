import type { Config } from "../../../env";
import type { ProviderId } from "../registry";
import { anthropicChat } from "./anthropic/chat";
import { openAiSpeech, openAiTranscription } from "./openai/audio";
import { openAiChat } from "./openai/chat";
import type { OpenAiSettings } from "./openai/client";
import { openAiEmbeddings } from "./openai/embeddings";
import { openAiImages } from "./openai/images";
import type { ChatProvider, EmbeddingsProvider, ImagesProvider, SpeechProvider, TranscriptionProvider } from "./types";

/**
 * Adapters by provider and capability, built from configuration (the registry offers only
 * configured providers' models, and only the capabilities their adapters have).
 */

/** Providers speaking OpenAI's API: OpenAI, Gemini and Mistral at their own base URLs, self-hosted servers. */
const openAiApis: Record<Exclude<ProviderId, "anthropic">, (config: Config) => OpenAiSettings> = {
  openai: (config) => ({ apiKey: config.OPENAI_API_KEY ?? "", baseUrl: config.OPENAI_BASE_URL }),
  google: (config) => ({ apiKey: config.GOOGLE_API_KEY ?? "", baseUrl: config.GOOGLE_BASE_URL, label: "google" }),
  mistral: (config) => ({ apiKey: config.MISTRAL_API_KEY ?? "", baseUrl: config.MISTRAL_BASE_URL, label: "mistral" }),
  compatible: (config) => ({
    // The SDK insists on a key; servers without auth ignore it.
    apiKey: config.OPENAI_COMPATIBLE_API_KEY ?? "none",
    baseUrl: config.OPENAI_COMPATIBLE_BASE_URL ?? "",
    label: "compatible",
  }),
};

export function chatProviderOf(config: Config, provider: ProviderId): ChatProvider {
  if (provider === "anthropic") {
    return anthropicChat({ apiKey: config.ANTHROPIC_API_KEY ?? "", baseUrl: config.ANTHROPIC_BASE_URL });
  }
  return openAiChat(openAiApis[provider](config));
}

/** OpenAI's API settings of a provider that speaks it; the registry never asks Anthropic for more than chat. */
function openAiApiOf(config: Config, provider: ProviderId): OpenAiSettings {
  if (provider === "anthropic") throw new Error("Anthropic offers chat only here");
  return openAiApis[provider](config);
}

export const embeddingsProviderOf = (config: Config, provider: ProviderId): EmbeddingsProvider =>
  openAiEmbeddings(openAiApiOf(config, provider));

export const transcriptionProviderOf = (config: Config, provider: ProviderId): TranscriptionProvider =>
  openAiTranscription(openAiApiOf(config, provider));

export const speechProviderOf = (config: Config, provider: ProviderId): SpeechProvider =>
  openAiSpeech(openAiApiOf(config, provider));

export const imagesProviderOf = (config: Config, provider: ProviderId): ImagesProvider =>
  openAiImages(openAiApiOf(config, provider));
