import type {
  ChatCompletionCreateParamsStreaming,
  ChatCompletionMessageParam,
} from "openai/resources/chat/completions";
import { z } from "zod";
import { checkAnswer } from "../../../../platform/upstreams/answers";
import { UpstreamError } from "../../../../platform/upstreams/error";
import { MAX_TOOL_CALLS, usagePart } from "../answers";
import type { ChatMessage, ChatPart, ChatProvider, ChatRequest, FinishReason } from "../types";
import { clientOf, type OpenAiSettings, providerErrorOf } from "./client";

/**
 * Chat through the `openai` SDK, for every provider speaking OpenAI's API (see `client.ts`).
 * The SDK parses each chunk but trusts it; every chunk is checked here before any part of it
 * is used.
 */

function toOpenAiMessage(message: ChatMessage): ChatCompletionMessageParam {
  switch (message.role) {
    case "system":
    case "developer":
      return { role: message.role, content: message.content };
    case "user":
      return {
        role: "user",
        content:
          typeof message.content === "string"
            ? message.content
            : message.content.map((part) =>
                part.type === "text"
                  ? { type: "text" as const, text: part.text }
                  : {
                      type: "image_url" as const,
                      image_url: { url: part.url, ...(part.detail ? { detail: part.detail } : {}) },
                    },
              ),
      };
    case "assistant":
      return {
        role: "assistant",
        content: message.content,
        ...(message.toolCalls?.length
          ? {
              tool_calls: message.toolCalls.map((call) => ({
                id: call.id,
                type: "function" as const,
                function: { name: call.name, arguments: call.arguments },
              })),
            }
          : {}),
      };
    case "tool":
      return { role: "tool", tool_call_id: message.toolCallId, content: message.content };
  }
}

function toOpenAiParams(request: ChatRequest): ChatCompletionCreateParamsStreaming {
  const { responseFormat, toolChoice } = request;
  return {
    model: request.model,
    messages: request.messages.map(toOpenAiMessage),
    max_tokens: request.maxTokens,
    n: request.n,
    stream: true,
    stream_options: { include_usage: true },
    ...(request.temperature !== undefined ? { temperature: request.temperature } : {}),
    ...(request.topP !== undefined ? { top_p: request.topP } : {}),
    ...(request.stop ? { stop: request.stop } : {}),
    ...(request.tools
      ? {
          tools: request.tools.map((tool) => ({
            type: "function" as const,
            function: {
              name: tool.name,
              ...(tool.description ? { description: tool.description } : {}),
              ...(tool.parameters ? { parameters: tool.parameters } : {}),
              ...(tool.strict !== undefined ? { strict: tool.strict } : {}),
            },
          })),
        }
      : {}),
    ...(toolChoice
      ? {
          tool_choice:
            typeof toolChoice === "string"
              ? toolChoice
              : { type: "function" as const, function: { name: toolChoice.name } },
        }
      : {}),
    ...(responseFormat
      ? {
          response_format:
            responseFormat.type === "json_schema"
              ? {
                  type: "json_schema" as const,
                  json_schema: {
                    name: responseFormat.name,
                    schema: responseFormat.schema,
                    ...(responseFormat.strict !== undefined ? { strict: responseFormat.strict } : {}),
                  },
                }
              : { type: responseFormat.type },
        }
      : {}),
  };
}

/** What is used of a `chat.completion.chunk`; unknown fields pass, wrong types fail. */
const ChunkSchema = z.object({
  choices: z
    .array(
      z.object({
        index: z.number().int().min(0),
        delta: z
          .object({
            content: z.string().nullish(),
            tool_calls: z
              .array(
                z.object({
                  index: z
                    .number()
                    .int()
                    .min(0)
                    .max(MAX_TOOL_CALLS - 1),
                  id: z.string().max(256).nullish(),
                  function: z
                    .object({ name: z.string().max(256).nullish(), arguments: z.string().nullish() })
                    .nullish(),
                }),
              )
              .max(MAX_TOOL_CALLS)
              .nullish(),
          })
          .nullish(),
        finish_reason: z.string().max(64).nullish(),
      }),
    )
    .default([]),
  usage: z.unknown().optional(),
});

const FINISH_REASONS = new Map<unknown, FinishReason>([
  ["stop", "stop"],
  ["length", "length"],
  ["tool_calls", "tool_calls"],
  ["function_call", "tool_calls"],
  ["content_filter", "content_filter"],
]);

function* partsOf(raw: unknown, n: number, label: string): Generator<ChatPart> {
  const checked = checkAnswer(ChunkSchema, raw);
  if (!checked.ok) throw UpstreamError.invalidAnswer(label, checked.problem);
  const chunk = checked.value;
  for (const choice of chunk.choices) {
    if (choice.index >= n) throw UpstreamError.invalidAnswer(label, `choice ${choice.index} of ${n}`);
    const delta = choice.delta ?? {};
    if (delta.content) yield { type: "text", choice: choice.index, text: delta.content };
    for (const call of delta.tool_calls ?? []) {
      yield {
        type: "tool_call",
        choice: choice.index,
        call: call.index,
        ...(call.id ? { id: call.id } : {}),
        ...(call.function?.name ? { name: call.function.name } : {}),
        arguments: call.function?.arguments ?? "",
      };
    }
    // A reason this adapter does not know (a compatible server's own) ends the choice normally.
    if (choice.finish_reason) {
      yield { type: "finish", choice: choice.index, reason: FINISH_REASONS.get(choice.finish_reason) ?? "stop" };
    }
  }
  const { usage } = chunk;
  if (typeof usage === "object" && usage !== null) {
    yield usagePart(
      (usage as Record<string, unknown>).prompt_tokens,
      (usage as Record<string, unknown>).completion_tokens,
    );
  } else if (usage !== undefined && usage !== null) {
    yield { type: "usage_rejected" };
  }
}

export function openAiChat(config: OpenAiSettings): ChatProvider {
  const label = config.label ?? "openai";
  const client = clientOf(config);
  return {
    async *chat(request, signal, connected) {
      const finished = new Set<number>();
      const params = toOpenAiParams(request);
      let chunks: AsyncIterator<unknown>;
      try {
        // The SDK answers the stream once the response's headers are in (or raises its error).
        chunks = (await client.chat.completions.create(params, { signal }))[Symbol.asyncIterator]();
      } catch (error) {
        throw providerErrorOf(error, signal, config);
      }
      connected?.();
      let done = false;
      try {
        while (!done) {
          let next: IteratorResult<unknown>;
          try {
            next = await chunks.next();
          } catch (error) {
            // Only the upstream makes reading its stream fail (a broken connection, an unreadable
            // event, a body past its cap): the SDK's parsing in between is not ours.
            const mapped = providerErrorOf(error, signal, config);
            const known = mapped !== error || error instanceof UpstreamError;
            throw known ? mapped : new UpstreamError(`${label}: the stream broke`, { retryable: true });
          }
          done = next.done === true;
          if (done) break;
          for (const part of partsOf(next.value, request.n, label)) {
            if (part.type === "finish") finished.add(part.choice);
            yield part;
          }
        }
      } finally {
        // Stopped early (an invalid chunk, the consumer went away): the SDK aborts the request.
        if (!done) await Promise.resolve(chunks.return?.()).catch(() => {});
      }
      if (finished.size < request.n) throw new UpstreamError(`${label}: the stream ended early`, { retryable: true });
    },
  };
}
