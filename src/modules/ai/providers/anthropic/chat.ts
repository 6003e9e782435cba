/**
 * Chat through Anthropic's Messages API with plain fetch: the request is always streamed and
 * its server-sent events are translated into parts as they arrive (translate.ts).
 */
import { type ChatProvider, type ChatRequest, isRetryableStatus, ProviderError, retryAfterMs } from "../types";
import { type SseEvent, StreamTranslator, toAnthropicRequest } from "./translate";

const ANTHROPIC_VERSION = "2023-06-01";

export function anthropicChat(config: { apiKey: string; baseUrl: string }): ChatProvider {
  const url = `${config.baseUrl.replace(/\/+$/, "")}/v1/messages`;
  /** Upstream text never carries our key, but nothing of ours may ever echo it either. */
  const redact = (text: string) => (config.apiKey ? text.replaceAll(config.apiKey, "[redacted]") : text);

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
        throw new ProviderError(redact(`anthropic: network error: ${describe(error)}`), true);
      }

      connected?.();
      if (!response.ok) throw await httpError(response, signal, redact);
      if (!response.body) throw new ProviderError("the upstream stream ended early", true);

      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      // fetch's signal already aborts the body; cancelling the reader too makes sure of it.
      const cancel = () => void reader.cancel(signal.reason).catch(() => {});
      signal.addEventListener("abort", cancel, { once: true });
      try {
        const translator = new StreamTranslator();
        const lines = new SseDecoder();
        for (;;) {
          let chunk: ReadableStreamReadResult<string>;
          try {
            chunk = await reader.read();
          } catch (error) {
            if (signal.aborted) throw abortReason(signal, error);
            throw new ProviderError("the upstream stream ended early", true);
          }
          // A cancelled reader reads as done, so an abort is looked for before the end.
          if (signal.aborted) throw abortReason(signal);
          const events = chunk.done ? lines.end() : lines.push(chunk.value);
          for (const event of events) {
            for (const part of translator.handle(event)) yield part;
            if (signal.aborted) throw abortReason(signal);
            if (translator.done) return;
          }
          if (chunk.done) throw new ProviderError("the upstream stream ended early", true);
        }
      } finally {
        signal.removeEventListener("abort", cancel);
        // Early exit (done, error, the consumer stopped iterating): release the connection.
        await reader.cancel().catch(() => {});
      }
    },
  };
}

/** A non-2xx answer, `{type: "error", error: {type, message}}` when it is Anthropic's own. */
async function httpError(response: Response, signal: AbortSignal, redact: (text: string) => string): Promise<unknown> {
  let message = response.statusText;
  try {
    const text = await response.text();
    const parsed: unknown = JSON.parse(text);
    const error = typeof parsed === "object" && parsed !== null && "error" in parsed ? parsed.error : undefined;
    if (typeof error === "object" && error !== null && "message" in error && typeof error.message === "string") {
      message = error.message;
    }
  } catch (error) {
    if (signal.aborted) return abortReason(signal, error);
    // not JSON (a proxy's page): the status text stands
  }
  const status = response.status;
  return new ProviderError(
    redact(`anthropic: ${status} ${message}`.trim()),
    isRetryableStatus(status),
    status,
    retryAfterMs(response.headers),
  );
}

/** What an aborted call rejects with: the signal's reason (an AbortError unless given another). */
function abortReason(signal: AbortSignal, error?: unknown): unknown {
  return signal.reason ?? error ?? new DOMException("The operation was aborted.", "AbortError");
}

const describe = (error: unknown) => (error instanceof Error ? error.message : String(error));

/**
 * Server-sent events from text chunks that may split lines (and a CRLF) anywhere: `event:` and
 * `data:` fields, an event dispatched on each blank line, comments and other fields ignored.
 */
export class SseDecoder {
  private buffer = "";
  private event = "";
  private data: string[] = [];

  push(text: string): SseEvent[] {
    this.buffer += text;
    const events: SseEvent[] = [];
    const newline = /\r\n|\r|\n/g;
    let start = 0;
    for (;;) {
      newline.lastIndex = start;
      const found = newline.exec(this.buffer);
      if (!found) break;
      const at = found.index;
      // A CR at the very end may be the first half of a CRLF: wait for the next chunk.
      if (this.buffer[at] === "\r" && at + 1 === this.buffer.length) break;
      const line = this.buffer.slice(start, at);
      start = at + found[0].length;
      const event = this.line(line);
      if (event) events.push(event);
    }
    this.buffer = this.buffer.slice(start);
    return events;
  }

  /** The end of the stream: a last line without its newline, and an event without its blank line. */
  end(): SseEvent[] {
    const events = this.buffer ? this.push("\n") : [];
    const last = this.line("");
    return last ? [...events, last] : events;
  }

  private line(line: string): SseEvent | undefined {
    if (line === "") {
      if (this.data.length === 0) {
        this.event = "";
        return undefined;
      }
      const event = { event: this.event, data: this.data.join("\n") };
      this.event = "";
      this.data = [];
      return event;
    }
    if (line.startsWith(":")) return undefined;
    const colon = line.indexOf(":");
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "event") this.event = value;
    else if (field === "data") this.data.push(value);
    return undefined;
  }
}
