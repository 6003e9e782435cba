import type { Config } from "../../../env";
import type { ProviderId } from "../registry";
import { anthropicChat } from "./anthropic/chat";
import { openAiChat } from "./openai/chat";
import type { ChatProvider } from "./types";

/** Chat adapters by provider, built from configuration (the registry offers only configured ones). */
const chatAdapters: Record<ProviderId, (config: Config) => ChatProvider> = {
  openai: (config) => openAiChat({ apiKey: config.OPENAI_API_KEY ?? "", baseUrl: config.OPENAI_BASE_URL }),
  anthropic: (config) => anthropicChat({ apiKey: config.ANTHROPIC_API_KEY ?? "", baseUrl: config.ANTHROPIC_BASE_URL }),
  // Gemini, Mistral and self-hosted servers speak OpenAI's API at their own base URLs.
  google: (config) =>
    openAiChat({ apiKey: config.GOOGLE_API_KEY ?? "", baseUrl: config.GOOGLE_BASE_URL, label: "google" }),
  mistral: (config) =>
    openAiChat({ apiKey: config.MISTRAL_API_KEY ?? "", baseUrl: config.MISTRAL_BASE_URL, label: "mistral" }),
  compatible: (config) =>
    openAiChat({
      // The SDK insists on a key; servers without auth ignore it.
      apiKey: config.OPENAI_COMPATIBLE_API_KEY ?? "none",
      baseUrl: config.OPENAI_COMPATIBLE_BASE_URL ?? "",
      label: "compatible",
    }),
};

export const chatProviderOf = (config: Config, provider: ProviderId): ChatProvider => chatAdapters[provider](config);
