/**
 * Mapping between the normalized chat request/parts and Anthropic's Messages API: the request
 * body one way, the streamed events the other. Pure functions and a small state machine, no I/O
 * (chat.ts does the fetch and the SSE decoding).
 */
import { z } from "zod";
import { AppError } from "../../../../platform/errors";
import { patternRedactor } from "../../../../platform/redact";
import { checkAnswer } from "../../../../platform/upstreams/answers";
import { UpstreamError } from "../../../../platform/upstreams/error";
import { MAX_TOOL_CALLS, TokenCount, usagePart } from "../answers";
import type { SseEvent } from "../event-stream";
import type { ChatContentPart, ChatMessage, ChatPart, ChatRequest, ChatTool, FinishReason } from "../types";

// ---------------------------------------------------------------------------------------------
// Request
// ---------------------------------------------------------------------------------------------

type ImageSource = { type: "base64"; media_type: string; data: string } | { type: "url"; url: string };

type AnthropicBlock =
  | { type: "text"; text: string }
  | { type: "image"; source: ImageSource }
  | { type: "tool_use"; id: string; name: string; input: Record<string, unknown> }
  | { type: "tool_result"; tool_use_id: string; content: string };

type AnthropicMessage = { role: "user" | "assistant"; content: AnthropicBlock[] };

type AnthropicRequest = {
  model: string;
  max_tokens: number;
  messages: AnthropicMessage[];
  system?: string;
  temperature?: number;
  top_p?: number;
  stop_sequences?: string[];
  tools?: { name: string; description?: string; input_schema: Record<string, unknown> }[];
  tool_choice?: { type: "auto" | "any" | "none" } | { type: "tool"; name: string };
  stream: true;
};

/** A request Anthropic cannot take, found before calling it: the client's 400, never a provider's fault. */
const invalid = (message: string) => new AppError("validation_failed", message);

/** The Messages API body for a normalized request (always streamed). */
export function toAnthropicRequest(request: ChatRequest): AnthropicRequest {
  if (request.n > 1) throw invalid("Anthropic models answer one choice at a time (n = 1).");

  const body: AnthropicRequest = {
    model: request.model,
    max_tokens: request.maxTokens,
    messages: toMessages(request.messages),
    stream: true,
  };
  const system = systemPrompt(request);
  if (system) body.system = system;
  // Anthropic's range is 0..1 where OpenAI's is 0..2; clamp rather than fail the request.
  if (request.temperature !== undefined) body.temperature = Math.min(Math.max(request.temperature, 0), 1);
  if (request.topP !== undefined) body.top_p = request.topP;
  if (request.stop?.length) body.stop_sequences = request.stop;
  if (request.tools?.length) {
    body.tools = request.tools.map(toTool);
    // Anthropic refuses tool_choice without tools, so it is only sent alongside them.
    if (request.toolChoice !== undefined) body.tool_choice = toToolChoice(request.toolChoice);
  }
  return body;
}

/**
 * System and developer messages, wherever they sit, joined into the top-level system prompt.
 * Anthropic has no native JSON mode on the Messages API (short of forcing a tool), so a JSON
 * response format becomes an instruction appended to the system prompt.
 */
function systemPrompt(request: ChatRequest): string {
  const parts: string[] = [];
  for (const message of request.messages) {
    if ((message.role === "system" || message.role === "developer") && message.content) parts.push(message.content);
  }
  const format = request.responseFormat;
  if (format?.type === "json_object") {
    parts.push("Respond with a single valid JSON object only: no prose, no Markdown code fences.");
  } else if (format?.type === "json_schema") {
    parts.push(
      `Respond with a single valid JSON value only (no prose, no Markdown code fences) that conforms to this JSON ` +
        `Schema, named "${format.name}":\n${JSON.stringify(format.schema)}`,
    );
  }
  return parts.join("\n\n");
}

/**
 * The conversation as Anthropic messages: tool results become user turns, and consecutive turns
 * of one role are merged, since Anthropic requires user and assistant to alternate.
 */
function toMessages(messages: ChatMessage[]): AnthropicMessage[] {
  const result: AnthropicMessage[] = [];
  for (const message of messages) {
    const turn = toTurn(message);
    if (!turn || turn.content.length === 0) continue;
    const previous = result.at(-1);
    if (previous?.role === turn.role) previous.content.push(...turn.content);
    else result.push(turn);
  }
  // In a user turn, tool results must come before anything else.
  for (const turn of result) {
    if (turn.role !== "user") continue;
    const results = turn.content.filter((block) => block.type === "tool_result");
    if (results.length > 0)
      turn.content = [...results, ...turn.content.filter((block) => block.type !== "tool_result")];
  }
  return result;
}

function toTurn(message: ChatMessage): AnthropicMessage | undefined {
  switch (message.role) {
    case "system":
    case "developer":
      return undefined;
    case "user":
      return {
        role: "user",
        content: typeof message.content === "string" ? textBlocks(message.content) : message.content.map(toUserBlock),
      };
    case "assistant":
      return {
        role: "assistant",
        content: [
          ...textBlocks(message.content ?? ""),
          ...(message.toolCalls ?? []).map(
            (call): AnthropicBlock => ({
              type: "tool_use",
              id: call.id,
              name: call.name,
              input: toolInput(call.arguments),
            }),
          ),
        ],
      };
    case "tool":
      return {
        role: "user",
        content: [{ type: "tool_result", tool_use_id: message.toolCallId, content: message.content }],
      };
  }
}

/** Anthropic refuses empty text blocks, so an empty text is no block at all. */
const textBlocks = (text: string): AnthropicBlock[] => (text ? [{ type: "text", text }] : []);

function toUserBlock(part: ChatContentPart): AnthropicBlock {
  if (part.type === "text") return { type: "text", text: part.text };
  return { type: "image", source: imageSource(part.url) };
}

/** A `data:` URL as a base64 source, a remote `https:` URL as a url source (Anthropic fetches it). */
function imageSource(url: string): ImageSource {
  if (url.startsWith("data:")) {
    const match = /^data:([\w.+-]+\/[\w.+-]+)((?:;[^;,]*)*?);base64,(.*)$/s.exec(url);
    if (!match?.[1] || match[3] === undefined) throw invalid("Image data URLs must be base64-encoded images.");
    return { type: "base64", media_type: match[1].toLowerCase(), data: match[3] };
  }
  if (url.startsWith("https://")) return { type: "url", url };
  throw invalid("Image URLs must be https: or data: URLs.");
}

/** A tool call's arguments as Anthropic's `input` object; anything but a JSON object becomes {}. */
function toolInput(args: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(args);
    if (typeof value === "object" && value !== null && !Array.isArray(value)) return value as Record<string, unknown>;
  } catch {
    // not JSON: fall through
  }
  return {};
}

function toTool(tool: ChatTool): NonNullable<AnthropicRequest["tools"]>[number] {
  return {
    name: tool.name,
    ...(tool.description !== undefined && { description: tool.description }),
    input_schema: tool.parameters ?? { type: "object" },
  };
}

function toToolChoice(choice: NonNullable<ChatRequest["toolChoice"]>): NonNullable<AnthropicRequest["tool_choice"]> {
  if (choice === "auto") return { type: "auto" };
  if (choice === "required") return { type: "any" };
  if (choice === "none") return { type: "none" };
  return { type: "tool", name: choice.name };
}

// ---------------------------------------------------------------------------------------------
// Response stream
// ---------------------------------------------------------------------------------------------

const RETRYABLE_ERROR_TYPES = new Set(["overloaded_error", "api_error", "rate_limit_error"]);
const ERROR_STATUS = new Map<string, number>([
  ["invalid_request_error", 400],
  ["authentication_error", 401],
  ["permission_error", 403],
  ["not_found_error", 404],
  ["request_too_large", 413],
  ["rate_limit_error", 429],
  ["api_error", 500],
  ["overloaded_error", 529],
]);

/** Anthropic's stop reason as a finish reason. */
function finishReason(stopReason: unknown): FinishReason {
  switch (stopReason) {
    case "max_tokens":
    case "model_context_window_exceeded":
      return "length";
    case "tool_use":
      return "tool_calls";
    case "refusal":
      return "content_filter";
    default:
      // end_turn, stop_sequence, pause_turn
      return "stop";
  }
}

/** Content blocks one message may have: far more than any answer streams. */
const MAX_BLOCKS = 10_000;
const BlockIndex = z.number().int().min(0).max(MAX_BLOCKS);

/** Usage as the stream reports it; the counts are checked apart (a bad count is rejected, not a fault). */
const UsageSchema = z.object({
  input_tokens: z.unknown().optional(),
  output_tokens: z.unknown().optional(),
  cache_creation_input_tokens: z.unknown().optional(),
  cache_read_input_tokens: z.unknown().optional(),
});

/** What is used of each event type; unknown fields and unknown event types pass. */
const EventSchemas = {
  message_start: z.object({ message: z.object({ usage: UsageSchema.optional() }) }),
  content_block_start: z.object({
    index: BlockIndex,
    content_block: z.object({
      type: z.string(),
      id: z.string().max(256).optional(),
      name: z.string().max(256).optional(),
    }),
  }),
  content_block_delta: z.object({
    index: BlockIndex,
    delta: z.object({ type: z.string(), text: z.string().optional(), partial_json: z.string().optional() }),
  }),
  content_block_stop: z.object({ index: BlockIndex }),
  message_delta: z.object({
    delta: z.object({ stop_reason: z.string().max(64).nullish() }),
    usage: UsageSchema.optional(),
  }),
  error: z.object({ error: z.object({ type: z.string().max(64), message: z.string().optional() }) }),
};
type EventType = keyof typeof EventSchemas;
type EventOf<T extends EventType> = z.output<(typeof EventSchemas)[T]>;

const LABEL = "anthropic";

/** A count that is absent (null or missing) reads as none; anything else must be a believable count. */
const optionalCount = (value: unknown) => (value === undefined || value === null ? 0 : value);

/**
 * Turns Anthropic's stream events into parts, one event at a time. `done` is set by
 * message_stop; an `error` event, an unreadable event or one of the wrong shape throws a
 * UpstreamError.
 */
export class StreamTranslator {
  done = false;
  private inputTokens: unknown = 0;
  private outputTokens: unknown = 0;
  private reason: FinishReason = "stop";
  /** Content block index → tool call index, and whether the call has had any argument text. */
  private readonly toolCalls = new Map<number, { call: number; hasArguments: boolean }>();

  /** The parts an event yields (often none). */
  handle(event: SseEvent): ChatPart[] {
    if (!event.data) return [];
    let data: unknown;
    try {
      data = JSON.parse(event.data);
    } catch {
      throw UpstreamError.invalidAnswer(LABEL, "an event is not JSON");
    }
    const type = typeof data === "object" && data !== null && "type" in data ? data.type : event.event;
    switch (type) {
      case "message_start":
        this.readUsage(this.parse("message_start", data).message.usage);
        return [];
      case "content_block_start":
        return this.blockStart(this.parse("content_block_start", data));
      case "content_block_delta":
        return this.blockDelta(this.parse("content_block_delta", data));
      case "content_block_stop":
        return this.blockStop(this.parse("content_block_stop", data));
      case "message_delta": {
        const delta = this.parse("message_delta", data);
        if (delta.delta.stop_reason != null) this.reason = finishReason(delta.delta.stop_reason);
        this.readUsage(delta.usage);
        return [];
      }
      case "message_stop":
        this.done = true;
        return [{ type: "finish", choice: 0, reason: this.reason }, usagePart(this.inputTokens, this.outputTokens)];
      case "error":
        throw streamError(this.parse("error", data).error);
      default:
        // ping, and event types added after this adapter was written
        return [];
    }
  }

  private parse<T extends EventType>(type: T, data: unknown): EventOf<T> {
    const checked = checkAnswer(EventSchemas[type], data);
    if (!checked.ok) throw UpstreamError.invalidAnswer(LABEL, `${type}: ${checked.problem}`);
    return checked.value as EventOf<T>;
  }

  /**
   * Token counts as reported so far (message_delta's are cumulative). Anthropic's input_tokens
   * leave out prompt-cache reads and writes, which are input all the same, so they are added,
   * each checked first (a negative one must not cancel another). A count that is not believable
   * makes the sum unbelievable too (`usagePart` rejects it).
   */
  private readUsage(usage: z.output<typeof UsageSchema> | undefined) {
    if (!usage) return;
    if (usage.input_tokens !== undefined) {
      const counts = [usage.input_tokens, usage.cache_creation_input_tokens, usage.cache_read_input_tokens].map(
        (count) => TokenCount.safeParse(optionalCount(count)),
      );
      this.inputTokens = counts.every((count) => count.success)
        ? counts.reduce((sum, count) => sum + (count.data ?? 0), 0)
        : Number.NaN;
    }
    if (usage.output_tokens !== undefined) this.outputTokens = usage.output_tokens;
  }

  private blockStart(data: EventOf<"content_block_start">): ChatPart[] {
    const block = data.content_block;
    if (block.type !== "tool_use") return [];
    const call = this.toolCalls.size;
    if (call >= MAX_TOOL_CALLS) throw UpstreamError.invalidAnswer(LABEL, "too many tool calls");
    this.toolCalls.set(data.index, { call, hasArguments: false });
    return [{ type: "tool_call", choice: 0, call, id: block.id ?? "", name: block.name ?? "", arguments: "" }];
  }

  private blockDelta(data: EventOf<"content_block_delta">): ChatPart[] {
    const { delta } = data;
    if (delta.type === "text_delta" && delta.text) return [{ type: "text", choice: 0, text: delta.text }];
    if (delta.type === "input_json_delta" && delta.partial_json) {
      const tool = this.toolCalls.get(data.index);
      if (!tool) return [];
      tool.hasArguments = true;
      return [{ type: "tool_call", choice: 0, call: tool.call, arguments: delta.partial_json }];
    }
    // thinking_delta, signature_delta, citations_delta: nothing the normalized parts carry
    return [];
  }

  /** A tool call without input streams no JSON at all; its arguments are then "{}". */
  private blockStop(data: EventOf<"content_block_stop">): ChatPart[] {
    const tool = this.toolCalls.get(data.index);
    if (!tool || tool.hasArguments) return [];
    tool.hasArguments = true;
    return [{ type: "tool_call", choice: 0, call: tool.call, arguments: "{}" }];
  }
}

/**
 * An error of Anthropic's (`{type: "error", error: {type, message}}`, in a stream or a body) as
 * a UpstreamError in our words; its message stays in the excerpt, for the logs.
 */
export function streamError(error: { type: string; message?: string }, excerpt?: string): UpstreamError {
  const status = ERROR_STATUS.get(error.type);
  const tooLong = error.type === "invalid_request_error" && /prompt is too long/i.test(error.message ?? "");
  return new UpstreamError(`${LABEL}: ${status ?? "error"} ${error.type}`, {
    retryable: RETRYABLE_ERROR_TYPES.has(error.type),
    status,
    ...(tooLong ? { code: "context_length_exceeded" as const } : {}),
    excerpt: excerpt ?? patternRedactor.excerpt(error.message ?? ""),
  });
}
