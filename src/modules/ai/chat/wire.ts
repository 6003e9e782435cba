import type { ChatPart } from "../providers/types";
import type { Answer } from "./answer";
import { withTopLevelStrings } from "./top-level";

/**
 * OpenAI's chat wire format, written once: the `chat.completion` object, the
 * `chat.completion.chunk` stream as Server-Sent Events (byte-compatible with OpenAI's: a
 * provider speaking it is relayed, others are rebuilt from their parts), the usage chunk with
 * Stratus's cost, and the error chunk that ends a broken stream.
 */

export type Usage = { inputTokens: number; outputTokens: number; charged: number };

const openAiUsage = (usage: Usage) => ({
  prompt_tokens: usage.inputTokens,
  completion_tokens: usage.outputTokens,
  total_tokens: usage.inputTokens + usage.outputTokens,
  /** Stratus's addition: what the request was charged, in millicredits. */
  cost_millicredits: usage.charged,
});

export type Envelope = { id: string; created: number; model: string };

export function completion(envelope: Envelope, answer: Answer, usage: Usage) {
  return {
    id: envelope.id,
    object: "chat.completion",
    created: envelope.created,
    model: envelope.model,
    choices: answer.choices.map((choice, index) => ({
      index,
      message: {
        role: "assistant",
        content: choice.toolCalls.length > 0 && choice.text === "" ? null : choice.text,
        refusal: null,
        ...(choice.toolCalls.length > 0
          ? {
              tool_calls: choice.toolCalls.map((call) => ({
                id: call.id,
                type: "function",
                function: { name: call.name, arguments: call.arguments },
              })),
            }
          : {}),
      },
      logprobs: null,
      finish_reason: choice.finish ?? "stop",
    })),
    usage: openAiUsage(usage),
  };
}

const encoder = new TextEncoder();
const event = (data: unknown) => encoder.encode(`data: ${JSON.stringify(data)}\n\n`);

/** Frames parts as `chat.completion.chunk` events; the first chunk of each choice names the role. */
export class ChunkWriter {
  private readonly started = new Set<number>();

  constructor(private readonly envelope: Envelope) {}

  private chunkOf(choices: unknown[], extra: Record<string, unknown> = {}) {
    const { id, created, model } = this.envelope;
    return { id, object: "chat.completion.chunk", created, model, system_fingerprint: null, choices, ...extra };
  }

  private chunk(choices: unknown[], extra: Record<string, unknown> = {}) {
    return event(this.chunkOf(choices, extra));
  }

  /**
   * A provider's chunks (OpenAI's format, already checked) relayed as they came but for their
   * `id` and `model`, which become Stratus's, in one write; a chunk is rebuilt only when those
   * cannot be found in its text.
   */
  relay(chunks: readonly string[]): Uint8Array {
    const { id, model } = this.envelope;
    let text = "";
    for (const data of chunks) {
      const relayed = withTopLevelStrings(data, { id, model });
      text += `data: ${relayed ?? JSON.stringify({ ...(JSON.parse(data) as Record<string, unknown>), id, model })}\n\n`;
    }
    return encoder.encode(text);
  }

  /** The event(s) for one part; the provider's usage is never sent as it is (see `usage()`). */
  part(part: ChatPart): Uint8Array[] {
    if (part.type === "usage" || part.type === "usage_rejected" || part.type === "relay") return [];
    const out: Uint8Array[] = [];
    if (!this.started.has(part.choice)) {
      this.started.add(part.choice);
      out.push(
        this.chunk([
          { index: part.choice, delta: { role: "assistant", content: "" }, logprobs: null, finish_reason: null },
        ]),
      );
    }
    const delta =
      part.type === "text"
        ? { content: part.text }
        : part.type === "tool_call"
          ? {
              tool_calls: [
                {
                  index: part.call,
                  ...(part.id ? { id: part.id, type: "function" } : {}),
                  function: { ...(part.name ? { name: part.name } : {}), arguments: part.arguments },
                },
              ],
            }
          : {};
    const finish = part.type === "finish" ? part.reason : null;
    out.push(this.chunk([{ index: part.choice, delta, logprobs: null, finish_reason: finish }]));
    return out;
  }

  /** The end of a stream in one write: the usage chunk with Stratus's cost (when asked for), then `[DONE]`. */
  end(usage: Usage | null): Uint8Array {
    if (usage === null) return ChunkWriter.done();
    return encoder.encode(
      `data: ${JSON.stringify(this.chunkOf([], { usage: openAiUsage(usage) }))}\n\ndata: [DONE]\n\n`,
    );
  }

  static done(): Uint8Array {
    return encoder.encode("data: [DONE]\n\n");
  }

  /** Ends a stream that broke after bytes were sent: no `[DONE]`, so clients cannot take it for complete. */
  static error(message: string): Uint8Array {
    return event({ error: { message, type: "server_error", param: null, code: "stream_interrupted" } });
  }
}
