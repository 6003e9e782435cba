import { z } from "@hono/zod-openapi";
import { PaginationQuery } from "../../../platform/pagination";
import { MESSAGE_ROLES, MESSAGE_STATUSES } from "../tables";

const ulid = "[0-9A-HJKMNP-TV-Z]{26}";

export const ConversationParams = z
  .object({
    id: z
      .string()
      .regex(new RegExp(`^cnv_${ulid}$`), "must be a conversation id")
      .openapi({ example: "cnv_01JD0000000000000000000000" }),
  })
  .strict();

const TitleSchema = z.string().trim().min(1).max(200);
const ModelSchema = z
  .string()
  .min(1)
  .max(200)
  .openapi({ description: "A chat model id (GET /v1/models)", example: "gpt-4o-mini" });
const PresetIdSchema = z
  .string()
  .regex(/^prs_[0-9A-HJKMNP-TV-Z]{26}$/, "must be a preset id")
  .openapi({ description: "A preset of the request's account", example: "prs_01JD0000000000000000000000" });

export const CreateConversationBody = z
  .object({
    title: TitleSchema.optional(),
    model: ModelSchema.optional().openapi({ description: "Default: the preset's model, else gpt-4o-mini" }),
    presetId: PresetIdSchema.optional(),
  })
  .strict()
  .openapi("CreateConversationRequest");

export const UpdateConversationBody = z
  .object({
    title: TitleSchema.optional(),
    model: ModelSchema.optional(),
    presetId: PresetIdSchema.nullable().optional().openapi({ description: "null detaches the preset" }),
  })
  .strict()
  .refine((body) => Object.keys(body).length > 0, "give at least one field to change")
  .openapi("UpdateConversationRequest");

export const ConversationsQuery = PaginationQuery;

export const ConversationSchema = z
  .object({
    id: z.string(),
    title: z.string().nullable().openapi({ description: "Null until the first exchange titles it" }),
    model: z.string(),
    presetId: z.string().nullable(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .openapi("Conversation", { description: "A chat kept by Stratus: its messages are the history sent upstream" });

export const ConversationListSchema = z
  .object({ items: z.array(ConversationSchema), nextCursor: z.string().nullable() })
  .openapi("ConversationList");

const MAX_MESSAGE_CHARS = 100_000;

export const SendMessageBody = z
  .object({
    content: z.string().min(1).max(MAX_MESSAGE_CHARS),
    model: ModelSchema.optional().openapi({
      description:
        "For this message only. Default: the preset's model when `presetId` is given, else the conversation's",
    }),
    presetId: PresetIdSchema.optional().openapi({
      description: "For this message only, instead of the conversation's",
    }),
    stream: z.boolean().optional().openapi({ description: "Answer with the chat completion's SSE stream" }),
  })
  .strict()
  .openapi("SendMessageRequest");

export const MessagesQuery = PaginationQuery;

const MessageSchema = z
  .object({
    id: z.string(),
    role: z.enum(MESSAGE_ROLES),
    content: z.string(),
    model: z.string().nullable().openapi({ description: "The model that answered (assistant messages)" }),
    status: z.enum(MESSAGE_STATUSES).openapi({
      description:
        "`incomplete`: the stream broke or the client left (the text received is kept); `failed`: no answer came",
    }),
    createdAt: z.string(),
  })
  .openapi("Message");

export const MessageListSchema = z
  .object({ items: z.array(MessageSchema), nextCursor: z.string().nullable() })
  .openapi("MessageList");

export const ExchangeSchema = z
  .object({ userMessage: MessageSchema, assistantMessage: MessageSchema })
  .openapi("MessageExchange");
