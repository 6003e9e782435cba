/**
 * Chat through Anthropic's Messages API with plain fetch: the request is always streamed and
 * its server-sent events are translated into parts as they arrive (translate.ts).
 */
import { createParser } from "eventsource-parser";
import { z } from "zod";
import { Redactor } from "../../../../platform/redact";
import { checkAnswer, failedAnswerOf } from "../../../../platform/upstreams/answers";
import { isRetryableStatus, retryAfterMs, UpstreamError } from "../../../../platform/upstreams/error";
import type { ChatProvider, ChatRequest } from "../types";
import { type SseEvent, StreamTranslator, streamError, toAnthropicRequest } from "./wire";

const ANTHROPIC_VERSION = "2023-06-01";

export function anthropicChat(config: { apiKey: string; baseUrl: string }): ChatProvider {
  const url = `${config.baseUrl.replace(/\/+$/, "")}/v1/messages`;
  /** An upstream that echoes our request (some proxies do) would hand its excerpt our key. */
  const redactor = new Redactor([config.apiKey]);

  return {
    async *chat(request: ChatRequest, signal: AbortSignal, connected?: () => void) {
      const body = JSON.stringify(toAnthropicRequest(request));
      signal.throwIfAborted();

      let response: Response;
      try {
        response = await fetch(url, {
          method: "POST",
          headers: {
            "x-api-key": config.apiKey,
            "anthropic-version": ANTHROPIC_VERSION,
            "content-type": "application/json",
            accept: "text/event-stream",
          },
          body,
          signal,
        });
      } catch (error) {
        if (signal.aborted) throw abortReason(signal, error);
        throw new UpstreamError("anthropic: unreachable", {
          retryable: true,
          unreachable: true,
          excerpt: redactor.excerpt(describe(error)),
        });
      }

      connected?.();
      if (!response.ok) throw await httpError(response, signal, redactor);
      if (!response.body) throw endedEarly();

      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      // fetch's signal already aborts the body; cancelling the reader too makes sure of it.
      const cancel = () => void reader.cancel(signal.reason).catch(() => {});
      signal.addEventListener("abort", cancel, { once: true });
      try {
        const translator = new StreamTranslator();
        const lines = sseDecoder();
        for (;;) {
          let chunk: ReadableStreamReadResult<string>;
          try {
            chunk = await reader.read();
          } catch (error) {
            if (signal.aborted) throw abortReason(signal, error);
            throw endedEarly();
          }
          // A cancelled reader reads as done, so an abort is looked for before the end.
          if (signal.aborted) throw abortReason(signal);
          const events = chunk.done ? lines.end() : lines.push(chunk.value);
          for (const event of events) {
            for (const part of translator.handle(event)) yield part;
            if (signal.aborted) throw abortReason(signal);
            if (translator.done) return;
          }
          if (chunk.done) throw endedEarly();
        }
      } finally {
        signal.removeEventListener("abort", cancel);
        // Early exit (done, error, the consumer stopped iterating): release the connection.
        await reader.cancel().catch(() => {});
      }
    },
  };
}

const endedEarly = () => new UpstreamError("anthropic: the stream ended early", { retryable: true });

/** Anthropic's own error body; a proxy's page or anything else is judged by its status alone. */
const ErrorBody = z.object({ error: z.object({ type: z.string().max(64), message: z.string().optional() }) });

/** A non-2xx answer as a UpstreamError in our words; what the upstream said goes only to the excerpt. */
async function httpError(response: Response, signal: AbortSignal, redactor: Redactor): Promise<unknown> {
  const { status, body, excerpt } = await failedAnswerOf(response, redactor);
  if (signal.aborted) return abortReason(signal);
  const retry = { retryAfterMs: retryAfterMs(response.headers) };
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    // not JSON (a proxy's page), or cut short: judged by its status
  }
  const known = checkAnswer(ErrorBody, parsed);
  if (known.ok) {
    const error = streamError(known.value.error, excerpt);
    return new UpstreamError(error.message, {
      retryable: error.retryable || isRetryableStatus(status),
      status,
      code: error.code,
      excerpt,
      ...retry,
    });
  }
  return new UpstreamError(`anthropic: ${status}`, { retryable: isRetryableStatus(status), status, excerpt, ...retry });
}

/** What an aborted call rejects with: the signal's reason (an AbortError unless given another). */
function abortReason(signal: AbortSignal, error?: unknown): unknown {
  return signal.reason ?? error ?? new DOMException("The operation was aborted.", "AbortError");
}

const describe = (error: unknown) => (error instanceof Error ? error.message : String(error));

/** An event longer than this is no event of a chat stream: an upstream gone wrong, refused before it fills memory. */
export const MAX_EVENT_CHARS = 4 * 1024 * 1024;

/**
 * Server-sent events from text chunks that may split lines (and a CRLF) anywhere, by
 * eventsource-parser; what it buffers of an unfinished event is capped at MAX_EVENT_CHARS. At
 * the end, a last event without its blank line is dispatched too.
 */
export function sseDecoder(): { push(text: string): SseEvent[]; end(): SseEvent[] } {
  let events: SseEvent[] = [];
  let tooLong = false;
  const parser = createParser({
    maxBufferSize: MAX_EVENT_CHARS,
    onEvent: (message) => events.push({ event: message.event ?? "", data: message.data }),
    onError: (error) => {
      if (error.type === "max-buffer-size-exceeded") tooLong = true;
    },
  });
  const push = (text: string) => {
    parser.feed(text);
    if (tooLong) throw UpstreamError.invalidAnswer("anthropic", "an event too long");
    const decoded = events;
    events = [];
    return decoded;
  };
  return { push, end: () => push("\n\n") };
}
