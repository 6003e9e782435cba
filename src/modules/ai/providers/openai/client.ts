import OpenAI from "openai";
import { Redactor } from "../../../../platform/redact";
import { failedAnswerOf } from "../../../../platform/upstreams/answers";
import { isRetryableStatus, retryAfterMs, UpstreamError } from "../../../../platform/upstreams/error";
import { abortReason } from "../event-stream";
import type { PassedOnCode } from "../types";

/**
 * The `openai` SDK client of a provider speaking OpenAI's API (OpenAI, Gemini and Mistral at
 * their compatible endpoints, self-hosted servers), one per base URL and key. The SDK's own
 * retries are off: the module retries and falls back, so nothing is retried once the client
 * has bytes. `label` names the provider in errors. Chat does not use the SDK: it reads its
 * stream by plain fetch, to relay it (chat.ts).
 */

export type OpenAiSettings = { apiKey: string; baseUrl: string; label?: string };

type Client = { sdk: OpenAI; redactor: Redactor };

const clients = new Map<string, Client>();

function cachedClient(settings: OpenAiSettings): Client {
  const key = `${settings.baseUrl}\n${settings.apiKey}`;
  let client = clients.get(key);
  if (!client) {
    client = {
      sdk: new OpenAI({
        apiKey: settings.apiKey,
        baseURL: settings.baseUrl,
        maxRetries: 0,
        fetch: boundedFetch(settings.label ?? "openai"),
      }),
      redactor: new Redactor([settings.apiKey]),
    };
    clients.set(key, client);
  }
  return client;
}

/**
 * What an upstream may send before it is refused: the SDK reads whole bodies into memory, and
 * an isolate's memory is shared by every request on it. Far above any honest answer: speech of
 * 4 096 characters, base64 images. (Chat streams are read by plain fetch: event-stream.ts.)
 */
const MAX_ANSWER_BYTES = 64 * 1024 * 1024;
/** An error's body is only read for its code and an excerpt: the rest is cut, not refused. */
const MAX_ERROR_BYTES = 64 * 1024;

/** `fetch` for the SDK, with every upstream body capped (see above). */
function boundedFetch(label: string): typeof fetch {
  return async (input, init) => {
    const response = await fetch(input, init);
    if (!response.body) return response;
    const body = response.body.pipeThrough(response.ok ? capped(label, MAX_ANSWER_BYTES) : cut(MAX_ERROR_BYTES));
    return new Response(body, response);
  };
}

/** Refuses a body past `maxBytes` as an invalid answer. */
function capped(label: string, maxBytes: number) {
  let total = 0;
  return new TransformStream<Uint8Array, Uint8Array>({
    transform(chunk, controller) {
      total += chunk.byteLength;
      if (total > maxBytes) {
        controller.error(UpstreamError.invalidAnswer(label, "a body too large"));
        return;
      }
      controller.enqueue(chunk);
    },
  });
}

/** Passes the first `maxBytes` of a body and drops the rest. */
function cut(maxBytes: number) {
  let left = maxBytes;
  return new TransformStream<Uint8Array, Uint8Array>({
    transform(chunk, controller) {
      if (left > 0) controller.enqueue(chunk.byteLength > left ? chunk.subarray(0, left) : chunk);
      left -= chunk.byteLength;
    },
  });
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
 * An upstream's error answer (`status` undefined: an error reported inside a stream) in our
 * words: retryable by its status, OpenAI's refusal codes and `param` passed on when known.
 */
function statusError(
  settings: OpenAiSettings,
  status: number | undefined,
  headers: Headers | undefined,
  error: { code?: unknown; param?: unknown },
  excerpt: string,
): UpstreamError {
  const label = settings.label ?? "openai";
  return new UpstreamError(status === undefined ? `${label}: reported an error` : `${label}: answered ${status}`, {
    retryable: status === undefined || isRetryableStatus(status),
    status,
    retryAfterMs: retryAfterMs(headers),
    code: PASSED_ON.get(error.code),
    param: paramOf(error.param),
    excerpt,
  });
}

/** OpenAI's error body: `{ error: { message, code, param } }` (anything else: judged by its status). */
function errorFieldsOf(body: string): { code?: unknown; param?: unknown } {
  try {
    const parsed: unknown = JSON.parse(body);
    const error = typeof parsed === "object" && parsed !== null ? (parsed as { error?: unknown }).error : undefined;
    return typeof error === "object" && error !== null ? (error as { code?: unknown; param?: unknown }) : {};
  } catch {
    return {}; // not JSON (a proxy's page), or cut short
  }
}

/** A non-2xx answer read by plain fetch, as `providerErrorOf` maps the SDK's. */
export async function httpErrorOf(
  response: Response,
  signal: AbortSignal,
  settings: OpenAiSettings,
  redactor: Redactor,
): Promise<unknown> {
  const { status, body, excerpt } = await failedAnswerOf(response, redactor);
  if (signal.aborted) return abortReason(signal);
  return statusError(settings, status, response.headers, errorFieldsOf(body), excerpt);
}

/** An error event inside a stream (`data: {"error": …}`): the provider failed mid-answer. */
export const streamedErrorOf = (settings: OpenAiSettings, error: unknown, redactor: Redactor) =>
  statusError(
    settings,
    undefined,
    undefined,
    typeof error === "object" && error !== null ? error : {},
    redactor.excerpt(JSON.stringify(error)),
  );

/**
 * The SDK's errors as the module's: an abort stays an abort; the upstream's failures (an HTTP
 * error, no connection, an unreadable answer) become UpstreamErrors in our words, its text kept
 * only as a redacted excerpt for the logs; anything else is ours (a bug, a serialisation error)
 * and is thrown as it is, never counted against the provider.
 */
export function providerErrorOf(error: unknown, signal: AbortSignal, settings: OpenAiSettings): unknown {
  const label = settings.label ?? "openai";
  if (signal.aborted || error instanceof OpenAI.APIUserAbortError) return signal.reason ?? error;
  if (error instanceof UpstreamError) return error;
  const excerpt = (text: string) => cachedClient(settings).redactor.excerpt(text);
  if (error instanceof OpenAI.APIConnectionTimeoutError) {
    return new UpstreamError(`${label}: timed out`, { retryable: true });
  }
  if (error instanceof OpenAI.APIConnectionError) {
    return new UpstreamError(`${label}: unreachable`, {
      retryable: true,
      unreachable: true,
      excerpt: excerpt(error.message),
    });
  }
  if (error instanceof OpenAI.APIError) {
    return statusError(settings, error.status, error.headers, error, excerpt(error.message));
  }
  // The SDK parses answers itself: a SyntaxError is an upstream's unreadable JSON or event.
  if (error instanceof SyntaxError) return UpstreamError.invalidAnswer(label, "not JSON");
  return error;
}
