import OpenAI from "openai";
import { Redactor } from "../../../../platform/redact";
import { isRetryableStatus, type PassedOnCode, ProviderError, retryAfterMs } from "../types";

/**
 * The `openai` SDK client of a provider speaking OpenAI's API (OpenAI, Gemini and Mistral at
 * their compatible endpoints, self-hosted servers), one per base URL and key. The SDK's own
 * retries are off: the module retries and falls back, so nothing is retried once the client
 * has bytes. `label` names the provider in errors.
 */

export type OpenAiSettings = { apiKey: string; baseUrl: string; label?: string };

type Client = { sdk: OpenAI; redactor: Redactor };

const clients = new Map<string, Client>();

function cachedClient(settings: OpenAiSettings): Client {
  const key = `${settings.baseUrl}\n${settings.apiKey}`;
  let client = clients.get(key);
  if (!client) {
    client = {
      sdk: new OpenAI({ apiKey: settings.apiKey, baseURL: settings.baseUrl, maxRetries: 0 }),
      redactor: new Redactor([settings.apiKey]),
    };
    clients.set(key, client);
  }
  return client;
}

export const clientOf = (settings: OpenAiSettings): OpenAI => cachedClient(settings).sdk;

/** Upstream error codes (OpenAI's and compatible servers') that say what was wrong with the request. */
const PASSED_ON = new Map<unknown, PassedOnCode>([
  ["context_length_exceeded", "context_length_exceeded"],
  ["content_filter", "content_filter"],
  ["content_policy_violation", "content_filter"],
  ["invalid_image_url", "invalid_image"],
  ["invalid_image_format", "invalid_image"],
  ["image_parse_error", "invalid_image"],
]);

/** A `param` as OpenAI names fields (`messages.[0].content`, `max_tokens`); anything else is dropped. */
const paramOf = (param: unknown) =>
  typeof param === "string" && /^[A-Za-z0-9_.[\]-]{1,100}$/.test(param) ? param : undefined;

/**
 * The SDK's errors as the module's: an abort stays an abort; the upstream's failures (an HTTP
 * error, no connection, an unreadable answer) become ProviderErrors in our words, its text kept
 * only as a redacted excerpt for the logs; anything else is ours (a bug, a serialisation error)
 * and is thrown as it is, never counted against the provider.
 */
export function providerErrorOf(error: unknown, signal: AbortSignal, settings: OpenAiSettings): unknown {
  const label = settings.label ?? "openai";
  if (signal.aborted || error instanceof OpenAI.APIUserAbortError) return signal.reason ?? error;
  const excerpt = (text: string) => cachedClient(settings).redactor.excerpt(text);
  if (error instanceof OpenAI.APIConnectionTimeoutError) {
    return new ProviderError(`${label}: timed out`, { retryable: true });
  }
  if (error instanceof OpenAI.APIConnectionError) {
    return new ProviderError(`${label}: unreachable`, {
      retryable: true,
      unreachable: true,
      excerpt: excerpt(error.message),
    });
  }
  if (error instanceof OpenAI.APIError) {
    const status = error.status;
    return new ProviderError(status === undefined ? `${label}: reported an error` : `${label}: answered ${status}`, {
      retryable: status === undefined || isRetryableStatus(status),
      status,
      retryAfterMs: retryAfterMs(error.headers),
      code: PASSED_ON.get(error.code),
      param: paramOf(error.param),
      excerpt: excerpt(error.message),
    });
  }
  // The SDK parses answers itself: a SyntaxError is an upstream's unreadable JSON or event.
  if (error instanceof SyntaxError) return ProviderError.invalidAnswer(label, "not JSON");
  return error;
}
