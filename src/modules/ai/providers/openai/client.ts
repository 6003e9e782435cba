import OpenAI from "openai";
import { Redactor } from "../../../../platform/redact";
import { isRetryableStatus, retryAfterMs, UpstreamError } from "../../../../platform/upstreams/error";
import type { PassedOnCode } from "../types";

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
 * What an upstream may send before it is refused: the SDK reads whole bodies (and a stream's
 * lines) into memory, and an isolate's memory is shared by every request on it. Far above any
 * honest answer: speech of 4 096 characters, base64 images, a long streamed answer.
 */
const MAX_ANSWER_BYTES = 64 * 1024 * 1024;
/** An error's body is only read for its code and an excerpt: the rest is cut, not refused. */
const MAX_ERROR_BYTES = 64 * 1024;
/** One line of a server-sent event stream. */
const MAX_LINE_BYTES = 4 * 1024 * 1024;
const NEWLINE = 10;

/** `fetch` for the SDK, with every upstream body capped (see above). */
function boundedFetch(label: string): typeof fetch {
  return async (input, init) => {
    const response = await fetch(input, init);
    if (!response.body) return response;
    const lines = (response.headers.get("content-type") ?? "").includes("text/event-stream");
    const body = response.body.pipeThrough(
      response.ok
        ? capped(label, MAX_ANSWER_BYTES, lines ? MAX_LINE_BYTES : Number.POSITIVE_INFINITY)
        : cut(MAX_ERROR_BYTES),
    );
    return new Response(body, response);
  };
}

/** Refuses a body past `maxBytes`, or with a line past `maxLineBytes`, as an invalid answer. */
function capped(label: string, maxBytes: number, maxLineBytes: number) {
  let total = 0;
  let line = 0;
  return new TransformStream<Uint8Array, Uint8Array>({
    transform(chunk, controller) {
      total += chunk.byteLength;
      const lastNewline = maxLineBytes === Number.POSITIVE_INFINITY ? -1 : chunk.lastIndexOf(NEWLINE);
      line = lastNewline === -1 ? line + chunk.byteLength : chunk.byteLength - lastNewline - 1;
      if (total > maxBytes || line > maxLineBytes) {
        controller.error(UpstreamError.invalidAnswer(label, total > maxBytes ? "a body too large" : "a line too long"));
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
    const status = error.status;
    return new UpstreamError(status === undefined ? `${label}: reported an error` : `${label}: answered ${status}`, {
      retryable: status === undefined || isRetryableStatus(status),
      status,
      retryAfterMs: retryAfterMs(error.headers),
      code: PASSED_ON.get(error.code),
      param: paramOf(error.param),
      excerpt: excerpt(error.message),
    });
  }
  // The SDK parses answers itself: a SyntaxError is an upstream's unreadable JSON or event.
  if (error instanceof SyntaxError) return UpstreamError.invalidAnswer(label, "not JSON");
  return error;
}
