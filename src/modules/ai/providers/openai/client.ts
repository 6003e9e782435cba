import OpenAI from "openai";
import { isRetryableStatus, ProviderError, retryAfterMs } from "../types";

/**
 * The `openai` SDK client of a provider speaking OpenAI's API (OpenAI, Gemini and Mistral at
 * their compatible endpoints, self-hosted servers), one per base URL and key. The SDK's own
 * retries are off: the module retries and falls back, so nothing is retried once the client
 * has bytes. `label` names the provider in errors.
 */

export type OpenAiSettings = { apiKey: string; baseUrl: string; label?: string };

const clients = new Map<string, OpenAI>();

export function clientOf(settings: OpenAiSettings): OpenAI {
  const key = `${settings.baseUrl}\n${settings.apiKey}`;
  let client = clients.get(key);
  if (!client) {
    client = new OpenAI({ apiKey: settings.apiKey, baseURL: settings.baseUrl, maxRetries: 0 });
    clients.set(key, client);
  }
  return client;
}

/** The SDK's errors as the module's: an abort stays an abort. */
export function providerErrorOf(error: unknown, signal: AbortSignal, label: string): unknown {
  if (signal.aborted || error instanceof OpenAI.APIUserAbortError) return signal.reason ?? error;
  if (error instanceof OpenAI.APIError && error.status !== undefined) {
    return new ProviderError(
      `${label}: ${error.status} ${error.message}`,
      isRetryableStatus(error.status),
      error.status,
      retryAfterMs(error.headers),
    );
  }
  if (error instanceof OpenAI.APIError) return new ProviderError(`${label}: ${error.message}`, true);
  return new ProviderError(`${label}: ${error instanceof Error ? error.message : String(error)}`, true);
}
