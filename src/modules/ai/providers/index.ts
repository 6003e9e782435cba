import type { Config } from "../../../env";
import type { ProviderId } from "../registry";
import { anthropicChat } from "./anthropic/chat";
import { openAiChat } from "./openai/chat";
import type { ChatProvider } from "./types";

/** Chat adapters by provider, built from configuration (the registry offers only configured ones). */
const chatAdapters: Record<ProviderId, (config: Config) => ChatProvider> = {
  openai: (config) => openAiChat({ apiKey: config.OPENAI_API_KEY ?? "", baseUrl: config.OPENAI_BASE_URL }),
  anthropic: (config) => anthropicChat({ apiKey: config.ANTHROPIC_API_KEY ?? "", baseUrl: config.ANTHROPIC_BASE_URL }),
};

export const chatProviderOf = (config: Config, provider: ProviderId): ChatProvider => chatAdapters[provider](config);
