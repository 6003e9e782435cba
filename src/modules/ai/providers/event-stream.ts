import { createParser } from "eventsource-parser";
import type { Redactor } from "../../../platform/redact";
import { UpstreamError } from "../../../platform/upstreams/error";

/**
 * Reading a provider's server-sent event stream, for every chat adapter that fetches its own
 * (OpenAI's API and Anthropic's): bytes decoded as they arrive, events parsed by
 * eventsource-parser, an event or a body past its cap refused before it fills the isolate's
 * memory (shared by every request on it), an abort or a broken connection told apart.
 */

export type SseEvent = { event: string; data: string };

/** An event longer than this is no event of a chat stream: an upstream gone wrong. */
export const MAX_EVENT_CHARS = 4 * 1024 * 1024;
/** Far above any honest streamed answer (base64 images are not streamed). */
const MAX_STREAM_BYTES = 64 * 1024 * 1024;

/**
 * Server-sent events from text chunks that may split lines (and a CRLF) anywhere; what is
 * buffered of an unfinished event is capped at MAX_EVENT_CHARS. At the end, a last event
 * without its blank line is dispatched too.
 */
export function sseDecoder(label = "upstream"): { push(text: string): SseEvent[]; end(): SseEvent[] } {
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
    if (tooLong) throw UpstreamError.invalidAnswer(label, "a line too long");
    const decoded = events;
    events = [];
    return decoded;
  };
  return { push, end: () => push("\n\n") };
}

/** What an aborted call rejects with: the signal's reason (an AbortError unless given another). */
export function abortReason(signal: AbortSignal, error?: unknown): unknown {
  return signal.reason ?? error ?? new DOMException("The operation was aborted.", "AbortError");
}

/**
 * POSTs a request whose answer streams. Not reaching the upstream is its failure (retryable,
 * described for the logs with `redactor`); an abort rejects with the signal's reason.
 */
export async function postForStream(
  url: string,
  init: { headers: Record<string, string>; body: string },
  signal: AbortSignal,
  label: string,
  redactor: Redactor,
): Promise<Response> {
  signal.throwIfAborted();
  try {
    return await fetch(url, { method: "POST", ...init, signal });
  } catch (error) {
    if (signal.aborted) throw abortReason(signal, error);
    throw new UpstreamError(`${label}: unreachable`, {
      retryable: true,
      unreachable: true,
      excerpt: redactor.excerpt(error instanceof Error ? error.message : String(error)),
    });
  }
}

export const endedEarly = (label: string) => new UpstreamError(`${label}: the stream ended early`, { retryable: true });

/**
 * The events of a streamed body, a batch per read from the network (a batch is never empty).
 * The batches end with the body: whether that end came early is for the caller to say. A
 * connection that breaks fails as `endedEarly`, an abort with the signal's reason; stopping
 * early (the consumer returns) releases the connection.
 */
export async function* sseBatches(
  body: ReadableStream<Uint8Array>,
  signal: AbortSignal,
  label: string,
): AsyncGenerator<SseEvent[]> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  const events = sseDecoder(label);
  // fetch's signal already aborts the body; cancelling the reader too makes sure of it.
  const cancel = () => void reader.cancel(signal.reason).catch(() => {});
  signal.addEventListener("abort", cancel, { once: true });
  let bytes = 0;
  try {
    for (;;) {
      let chunk: ReadableStreamReadResult<Uint8Array>;
      try {
        chunk = await reader.read();
      } catch (error) {
        if (signal.aborted) throw abortReason(signal, error);
        throw endedEarly(label);
      }
      // A cancelled reader reads as done, so an abort is looked for before the end.
      if (signal.aborted) throw abortReason(signal);
      if (chunk.done) {
        const last = [...events.push(decoder.decode()), ...events.end()];
        if (last.length > 0) yield last;
        return;
      }
      bytes += chunk.value.byteLength;
      if (bytes > MAX_STREAM_BYTES) throw UpstreamError.invalidAnswer(label, "a body too large");
      const batch = events.push(decoder.decode(chunk.value, { stream: true }));
      if (batch.length > 0) yield batch;
    }
  } finally {
    signal.removeEventListener("abort", cancel);
    // Not awaited: the consumer's end (a stream's last bytes) does not wait for the connection to close.
    reader.cancel().catch(() => {});
  }
}
