import type {
  ChatCompletionChunk,
  ChatCompletionCreateParamsStreaming,
  ChatCompletionMessageParam,
} from "openai/resources/chat/completions";
import { type ChatMessage, type ChatPart, type ChatProvider, type ChatRequest, ProviderError } from "../types";
import { clientOf, type OpenAiSettings, providerErrorOf } from "./client";

/** Chat through the `openai` SDK, for every provider speaking OpenAI's API (see `client.ts`). */

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

function* partsOf(chunk: ChatCompletionChunk): Generator<ChatPart> {
  for (const choice of chunk.choices) {
    if (choice.delta.content) yield { type: "text", choice: choice.index, text: choice.delta.content };
    for (const call of choice.delta.tool_calls ?? []) {
      yield {
        type: "tool_call",
        choice: choice.index,
        call: call.index,
        ...(call.id ? { id: call.id } : {}),
        ...(call.function?.name ? { name: call.function.name } : {}),
        arguments: call.function?.arguments ?? "",
      };
    }
    if (choice.finish_reason) {
      const reason = choice.finish_reason === "function_call" ? "tool_calls" : choice.finish_reason;
      yield { type: "finish", choice: choice.index, reason };
    }
  }
  if (chunk.usage) {
    yield { type: "usage", inputTokens: chunk.usage.prompt_tokens, outputTokens: chunk.usage.completion_tokens };
  }
}

export function openAiChat(config: OpenAiSettings): ChatProvider {
  const label = config.label ?? "openai";
  const client = clientOf(config);
  return {
    async *chat(request, signal, connected) {
      const finished = new Set<number>();
      try {
        // The SDK answers the stream once the response's headers are in (or raises its error).
        const stream = await client.chat.completions.create(toOpenAiParams(request), { signal });
        connected?.();
        for await (const chunk of stream) {
          for (const part of partsOf(chunk)) {
            if (part.type === "finish") finished.add(part.choice);
            yield part;
          }
        }
      } catch (error) {
        throw providerErrorOf(error, signal, label);
      }
      if (finished.size < request.n) throw new ProviderError(`${label}: the stream ended early`, true);
    },
  };
}
