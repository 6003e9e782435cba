import type {
  ChatCompletionCreateParamsStreaming,
  ChatCompletionMessageParam,
} from "openai/resources/chat/completions";
import { z } from "zod";
import { Redactor } from "../../../../platform/redact";
import { checkAnswer } from "../../../../platform/upstreams/answers";
import { UpstreamError } from "../../../../platform/upstreams/error";
import { MAX_TOOL_CALLS, usagePart } from "../answers";
import { endedEarly, postForStream, sseBatches } from "../event-stream";
import type { ChatMessage, ChatPart, ChatProvider, ChatRequest, FinishReason } from "../types";
import { httpErrorOf, type OpenAiSettings, streamedErrorOf } from "./client";

/**
 * Chat with every provider speaking OpenAI's API (see `client.ts`), by plain fetch: the request
 * is always streamed, its events parsed as they arrive and every chunk checked before any part
 * of it is used. The chunks that carry choices are also handed on as they came (a `relay` part
 * per read), so that a stream is relayed to the client rather than rebuilt (chat/wire.ts).
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

/**
 * A `chat.completion.chunk` as far as Stratus knows it: wrong types fail; members it does not
 * know are dropped from the checked value (and make the chunk rebuilt rather than relayed).
 */
const ChunkSchema = z.object({
  id: z.string().max(256).optional(),
  object: z.string().max(64).optional(),
  created: z.number().int().min(0).optional(),
  model: z.string().max(256).optional(),
  system_fingerprint: z.string().max(256).nullish(),
  service_tier: z.string().max(64).nullish(),
  choices: z
    .array(
      z.object({
        index: z.number().int().min(0),
        delta: z
          .object({
            role: z.string().max(32).nullish(),
            content: z.string().nullish(),
            refusal: z.string().nullish(),
            tool_calls: z
              .array(
                z.object({
                  index: z
                    .number()
                    .int()
                    .min(0)
                    .max(MAX_TOOL_CALLS - 1),
                  id: z.string().max(256).nullish(),
                  type: z.string().max(32).nullish(),
                  function: z
                    .object({ name: z.string().max(256).nullish(), arguments: z.string().nullish() })
                    .nullish(),
                }),
              )
              .max(MAX_TOOL_CALLS)
              .nullish(),
          })
          .nullish(),
        logprobs: z.unknown().optional(),
        finish_reason: z.string().max(64).nullish(),
      }),
    )
    .default([]),
  usage: z.unknown().optional(),
});
type Chunk = z.infer<typeof ChunkSchema>;

const FINISH_REASONS = new Map<unknown, FinishReason>([
  ["stop", "stop"],
  ["length", "length"],
  ["tool_calls", "tool_calls"],
  ["function_call", "tool_calls"],
  ["content_filter", "content_filter"],
]);

/** The members of each level of a chunk that may be relayed as they came. */
const CHUNK_MEMBERS = new Set([
  "id",
  "object",
  "created",
  "model",
  "system_fingerprint",
  "service_tier",
  "choices",
  "usage",
]);
const CHOICE_MEMBERS = new Set(["index", "delta", "logprobs", "finish_reason"]);
const DELTA_MEMBERS = new Set(["role", "content", "refusal", "tool_calls"]);
const CALL_MEMBERS = new Set(["index", "id", "type", "function"]);
const FUNCTION_MEMBERS = new Set(["name", "arguments"]);

const onlyOf = (value: unknown, members: ReadonlySet<string>) =>
  typeof value !== "object" || value === null || Object.keys(value).every((key) => members.has(key));

/**
 * Whether a checked chunk holds nothing but what Stratus checked, as a client should see it:
 * OpenAI's members only, no log probabilities (never asked for), finish reasons Stratus names
 * the same way, no usage (Stratus sends its own). Then its text is relayed as it came.
 */
function relayable(raw: Record<string, unknown>): boolean {
  if (!onlyOf(raw, CHUNK_MEMBERS) || (raw.usage !== undefined && raw.usage !== null)) return false;
  return (raw.choices as Record<string, unknown>[]).every((choice) => {
    const delta = choice.delta as Record<string, unknown> | null | undefined;
    const calls = (delta?.tool_calls ?? []) as Record<string, unknown>[];
    return (
      onlyOf(choice, CHOICE_MEMBERS) &&
      (choice.logprobs ?? null) === null &&
      (choice.finish_reason == null || FINISH_REASONS.get(choice.finish_reason) === choice.finish_reason) &&
      onlyOf(delta, DELTA_MEMBERS) &&
      calls.every((call) => onlyOf(call, CALL_MEMBERS) && onlyOf(call.function, FUNCTION_MEMBERS))
    );
  });
}

/** A chunk rebuilt from what was checked of it: unknown members, log probabilities and usage left out. */
const rebuilt = (chunk: Chunk) =>
  JSON.stringify({
    ...chunk,
    usage: undefined,
    choices: chunk.choices.map((choice) => ({
      ...choice,
      logprobs: null,
      finish_reason: choice.finish_reason ? (FINISH_REASONS.get(choice.finish_reason) ?? "stop") : null,
    })),
  });

/**
 * One streamed chunk: what Stratus reads of it, and its JSON text to relay when it carries
 * choices (as it came when `relayable`, else rebuilt; its lines joined: eventsource-parser joins
 * a multi-line `data:` with newlines, which JSON outside strings does without).
 */
function readChunk(
  data: string,
  n: number,
  settings: OpenAiSettings,
  redactor: Redactor,
): { relay: string | null; parts: ChatPart[] } {
  const label = settings.label ?? "openai";
  let raw: unknown;
  try {
    raw = JSON.parse(data);
  } catch {
    throw UpstreamError.invalidAnswer(label, "not JSON");
  }
  if (typeof raw !== "object" || raw === null || Array.isArray(raw))
    throw UpstreamError.invalidAnswer(label, "not an object");
  const { error } = raw as { error?: unknown };
  if (error !== undefined && error !== null) throw streamedErrorOf(settings, error, redactor);
  const checked = checkAnswer(ChunkSchema, raw);
  if (!checked.ok) throw UpstreamError.invalidAnswer(label, checked.problem);
  const chunk = checked.value;
  const parts: ChatPart[] = [];
  for (const choice of chunk.choices) {
    if (choice.index >= n) throw UpstreamError.invalidAnswer(label, `choice ${choice.index} of ${n}`);
    const delta = choice.delta ?? {};
    if (delta.content) parts.push({ type: "text", choice: choice.index, text: delta.content });
    for (const call of delta.tool_calls ?? []) {
      parts.push({
        type: "tool_call",
        choice: choice.index,
        call: call.index,
        ...(call.id ? { id: call.id } : {}),
        ...(call.function?.name ? { name: call.function.name } : {}),
        arguments: call.function?.arguments ?? "",
      });
    }
    // A reason this adapter does not know (a compatible server's own) ends the choice normally.
    if (choice.finish_reason) {
      parts.push({ type: "finish", choice: choice.index, reason: FINISH_REASONS.get(choice.finish_reason) ?? "stop" });
    }
  }
  const { usage } = chunk;
  if (typeof usage === "object" && usage !== null) {
    parts.push(
      usagePart((usage as Record<string, unknown>).prompt_tokens, (usage as Record<string, unknown>).completion_tokens),
    );
  } else if (usage !== undefined && usage !== null) {
    parts.push({ type: "usage_rejected" });
  }
  if (chunk.choices.length === 0) return { relay: null, parts };
  const relay = relayable(raw as Record<string, unknown>) ? data.replaceAll("\n", "") : rebuilt(chunk);
  return { relay, parts };
}

export function openAiChat(config: OpenAiSettings): ChatProvider {
  const label = config.label ?? "openai";
  const url = `${config.baseUrl.replace(/\/+$/, "")}/chat/completions`;
  const headers = {
    authorization: `Bearer ${config.apiKey}`,
    "content-type": "application/json",
    accept: "text/event-stream",
  };
  /** An upstream that echoes our request (some proxies do) would hand its excerpt our key. */
  const redactor = new Redactor([config.apiKey]);
  return {
    relays: true,
    async *chat(request, signal, connected) {
      const body = JSON.stringify(toOpenAiParams(request));
      const response = await postForStream(url, { headers, body }, signal, label, redactor);
      connected?.();
      if (!response.ok) throw await httpErrorOf(response, signal, config, redactor);
      if (!response.body) throw endedEarly(label);
      const finished = new Set<number>();
      for await (const batch of sseBatches(response.body, signal, label)) {
        // What one read brought is relayed in one write (a burst of chunks is not paced out),
        // after its parts: nothing reaches the client before it is counted.
        const relay: string[] = [];
        const parts: ChatPart[] = [];
        let failure: unknown = null;
        // The end of the stream (the connection is let go); whether every choice finished is checked below.
        const done = batch.findIndex((event) => event.data.startsWith("[DONE]"));
        for (const event of done === -1 ? batch : batch.slice(0, done)) {
          try {
            const chunk = readChunk(event.data, request.n, config, redactor);
            if (chunk.relay !== null) relay.push(chunk.relay);
            parts.push(...chunk.parts);
          } catch (error) {
            // What came before the bad chunk still reaches the client, then the stream fails.
            failure = error;
            break;
          }
        }
        for (const part of parts) {
          if (part.type === "finish") finished.add(part.choice);
          yield part;
        }
        if (relay.length > 0) yield { type: "relay", chunks: relay };
        if (failure !== null) throw failure;
        if (done !== -1) break;
      }
      if (finished.size < request.n) throw endedEarly(label);
    },
  };
}
