/**
 * Chat through Anthropic's Messages API with plain fetch: the request is always streamed and
 * its server-sent events are translated into parts as they arrive (translate.ts).
 */
import { z } from "zod";
import { Redactor } from "../../../../platform/redact";
import { checkAnswer, failedAnswerOf } from "../../../../platform/upstreams/answers";
import { isRetryableStatus, retryAfterMs, UpstreamError } from "../../../../platform/upstreams/error";
import { abortReason, endedEarly, postForStream, sseBatches } from "../event-stream";
import type { ChatProvider, ChatRequest } from "../types";
import { StreamTranslator, streamError, toAnthropicRequest } from "./wire";

const ANTHROPIC_VERSION = "2023-06-01";

export function anthropicChat(config: { apiKey: string; baseUrl: string }): ChatProvider {
  const url = `${config.baseUrl.replace(/\/+$/, "")}/v1/messages`;
  /** An upstream that echoes our request (some proxies do) would hand its excerpt our key. */
  const redactor = new Redactor([config.apiKey]);

  return {
    async *chat(request: ChatRequest, signal: AbortSignal, connected?: () => void) {
      const body = JSON.stringify(toAnthropicRequest(request));
      const response = await postForStream(
        url,
        {
          headers: {
            "x-api-key": config.apiKey,
            "anthropic-version": ANTHROPIC_VERSION,
            "content-type": "application/json",
            accept: "text/event-stream",
          },
          body,
        },
        signal,
        "anthropic",
        redactor,
      );
      connected?.();
      if (!response.ok) throw await httpError(response, signal, redactor);
      if (!response.body) throw endedEarly("anthropic");

      const translator = new StreamTranslator();
      for await (const batch of sseBatches(response.body, signal, "anthropic")) {
        for (const event of batch) {
          for (const part of translator.handle(event)) yield part;
          if (signal.aborted) throw abortReason(signal);
          if (translator.done) return;
        }
      }
      throw endedEarly("anthropic");
    },
  };
}

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
