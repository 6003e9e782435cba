import { z } from "@hono/zod-openapi";
import { jsonComplexity, MAX_JSON_DEPTH, MAX_JSON_VALUES } from "../../../middleware/body-limits";
import type { ChatContentPart, ChatMessage, ChatRequest } from "../providers/types";
import type { Capability } from "../registry";

/**
 * `POST /v1/chat/completions` as OpenAI defines it. Objects are not strict on purpose
 * (ARCHITECTURE.md, Validation): OpenAI clients send fields Stratus does not model, which are
 * accepted and dropped, never forwarded.
 */

/** A base64 image up to about 5 MB decoded. */
const MAX_DATA_URL_CHARS = 7_000_000;

const imageUrl = z
  .string()
  .max(MAX_DATA_URL_CHARS, "an inline image may be at most 5 MB")
  .refine(
    (url) => url.startsWith("https://") || /^data:image\/(png|jpeg|gif|webp);base64,/.test(url),
    "must be an https URL (fetched by the provider, never by Stratus) or a data:image/…;base64 URL",
  );

const TextPart = z.object({ type: z.literal("text"), text: z.string().max(1_000_000) });
const ImagePart = z.object({
  type: z.literal("image_url"),
  image_url: z.object({ url: imageUrl, detail: z.enum(["auto", "low", "high"]).optional() }),
});
const textOf = (content: string | { text: string }[]) =>
  typeof content === "string" ? content : content.map((part) => part.text).join("");
const TextContent = z.union([z.string().max(1_000_000), z.array(TextPart).max(100)]);

/** A tool call's arguments are JSON in a string, parsed for providers that take an object (Anthropic). */
const ToolArguments = z
  .string()
  .max(1_000_000)
  .refine((text) => jsonComplexity(text) === null, {
    message: `must not nest deeper than ${MAX_JSON_DEPTH} levels or hold more than ${MAX_JSON_VALUES} values`,
  });

const ToolCall = z.object({
  id: z.string().min(1).max(256),
  type: z.literal("function"),
  function: z.object({ name: z.string().min(1).max(128), arguments: ToolArguments }),
});

const Message = z.discriminatedUnion("role", [
  z.object({ role: z.enum(["system", "developer"]), content: TextContent }),
  z.object({
    role: z.literal("user"),
    content: z.union([z.string().max(1_000_000), z.array(z.union([TextPart, ImagePart])).max(100)]),
  }),
  z.object({
    role: z.literal("assistant"),
    content: TextContent.nullable().optional(),
    tool_calls: z.array(ToolCall).max(128).optional(),
  }),
  z.object({ role: z.literal("tool"), tool_call_id: z.string().min(1).max(256), content: TextContent }),
]);

const Tool = z.object({
  type: z.literal("function"),
  function: z.object({
    name: z.string().regex(/^[a-zA-Z0-9_-]{1,64}$/, "letters, digits, _ and -, at most 64"),
    description: z.string().max(10_000).optional(),
    parameters: z.record(z.string(), z.unknown()).optional(),
    strict: z.boolean().nullable().optional(),
  }),
});

export const ChatCompletionBody = z
  .object({
    model: z.string().min(1).max(200),
    messages: z.array(Message).min(1).max(2_000),
    max_tokens: z.number().int().min(1).nullable().optional(),
    max_completion_tokens: z.number().int().min(1).nullable().optional(),
    n: z.number().int().min(1).max(4).nullable().optional(),
    temperature: z.number().min(0).max(2).nullable().optional(),
    top_p: z.number().min(0).max(1).nullable().optional(),
    stop: z
      .union([z.string().max(256), z.array(z.string().max(256)).max(4)])
      .nullable()
      .optional(),
    stream: z.boolean().nullable().optional(),
    stream_options: z.object({ include_usage: z.boolean().optional() }).nullable().optional(),
    tools: z.array(Tool).max(128).optional(),
    tool_choice: z
      .union([
        z.enum(["auto", "none", "required"]),
        z.object({ type: z.literal("function"), function: z.object({ name: z.string().min(1).max(64) }) }),
      ])
      .optional(),
    response_format: z
      .discriminatedUnion("type", [
        z.object({ type: z.literal("text") }),
        z.object({ type: z.literal("json_object") }),
        z.object({
          type: z.literal("json_schema"),
          json_schema: z.object({
            name: z.string().regex(/^[a-zA-Z0-9_-]{1,64}$/),
            schema: z.record(z.string(), z.unknown()),
            strict: z.boolean().nullable().optional(),
          }),
        }),
      ])
      .optional(),
  })
  .openapi("ChatCompletionRequest", {
    description: "OpenAI's request; fields not listed are accepted and dropped, never forwarded.",
  });
export type ChatCompletionBody = z.infer<typeof ChatCompletionBody>;

function toMessage(message: ChatCompletionBody["messages"][number]): ChatMessage {
  switch (message.role) {
    case "system":
    case "developer":
      return { role: message.role, content: textOf(message.content) };
    case "user":
      return {
        role: "user",
        content:
          typeof message.content === "string"
            ? message.content
            : message.content.map(
                (part): ChatContentPart =>
                  part.type === "text"
                    ? { type: "text", text: part.text }
                    : {
                        type: "image_url",
                        url: part.image_url.url,
                        ...(part.image_url.detail ? { detail: part.image_url.detail } : {}),
                      },
              ),
      };
    case "assistant":
      return {
        role: "assistant",
        content: message.content == null ? null : textOf(message.content),
        ...(message.tool_calls
          ? {
              toolCalls: message.tool_calls.map((call) => ({
                id: call.id,
                name: call.function.name,
                arguments: call.function.arguments,
              })),
            }
          : {}),
      };
    case "tool":
      return { role: "tool", toolCallId: message.tool_call_id, content: textOf(message.content) };
  }
}

/** The normalized request, less what depends on the deployment (model, max tokens). */
export function chatRequestOf(body: ChatCompletionBody): Omit<ChatRequest, "model" | "maxTokens"> {
  const format = body.response_format;
  const choice = body.tool_choice;
  return {
    messages: body.messages.map(toMessage),
    n: body.n ?? 1,
    ...(body.temperature != null ? { temperature: body.temperature } : {}),
    ...(body.top_p != null ? { topP: body.top_p } : {}),
    ...(body.stop != null ? { stop: typeof body.stop === "string" ? [body.stop] : body.stop } : {}),
    ...(body.tools?.length
      ? {
          tools: body.tools.map((tool) => ({
            name: tool.function.name,
            ...(tool.function.description ? { description: tool.function.description } : {}),
            ...(tool.function.parameters ? { parameters: tool.function.parameters } : {}),
            ...(tool.function.strict != null ? { strict: tool.function.strict } : {}),
          })),
        }
      : {}),
    ...(choice ? { toolChoice: typeof choice === "string" ? choice : { name: choice.function.name } } : {}),
    ...(format
      ? {
          responseFormat:
            format.type === "json_schema"
              ? {
                  type: "json_schema" as const,
                  name: format.json_schema.name,
                  schema: format.json_schema.schema,
                  ...(format.json_schema.strict != null ? { strict: format.json_schema.strict } : {}),
                }
              : { type: format.type },
        }
      : {}),
  };
}

/** What the request needs of a model. */
export function capabilitiesNeeded(body: ChatCompletionBody): Capability[] {
  const needs: Capability[] = ["chat"];
  const hasImage = body.messages.some(
    (message) =>
      message.role === "user" &&
      Array.isArray(message.content) &&
      message.content.some((part) => part.type === "image_url"),
  );
  if (hasImage) needs.push("vision");
  if (body.tools?.length) needs.push("tools");
  if (body.response_format?.type === "json_schema") needs.push("json_schema");
  return needs;
}
