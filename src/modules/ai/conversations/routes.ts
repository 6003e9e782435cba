import { authRoute } from "../../../middleware/auth";
import { jsonRequestBody, jsonResponse } from "../../../platform/openapi";
import { eventStreamContent } from "../../../platform/sse";
import { AI_CALL_ERRORS } from "../call-errors";
import {
  ConversationListSchema,
  ConversationParams,
  ConversationSchema,
  ConversationsQuery,
  CreateConversationBody,
  ExchangeSchema,
  MessageListSchema,
  MessagesQuery,
  SendMessageBody,
  UpdateConversationBody,
} from "./schema";

const tags = ["Conversations"];
const ownerNote =
  "A conversation belongs to the request's account (the caller, or the org named by `X-Stratus-Org`, which pays for its answers) and to the user who created it: only they see it; anyone else gets 404.";
const presetNote =
  "`presetId` names a preset of the request's account (404 otherwise); choosing one brings its model unless `model` is given.";

export const createConversation = authRoute(
  {
    method: "post",
    path: "/v1/conversations",
    tags,
    summary: "Start a conversation",
    description: `${ownerNote} ${presetNote} The model defaults to gpt-4o-mini. 409 past 1 000 conversations per user and account.`,
    request: { body: jsonRequestBody(CreateConversationBody) },
    responses: { 201: jsonResponse(ConversationSchema, "The conversation") },
  },
  { scope: "ai", errors: ["conflict", "model_not_found"] },
);

export const listConversations = authRoute(
  {
    method: "get",
    path: "/v1/conversations",
    tags,
    summary: "The caller's conversations, most recently active first",
    description: ownerNote,
    request: { query: ConversationsQuery },
    responses: { 200: jsonResponse(ConversationListSchema, "A page of conversations") },
  },
  { scope: "ai" },
);

export const getConversation = authRoute(
  {
    method: "get",
    path: "/v1/conversations/{id}",
    tags,
    summary: "One conversation",
    description: ownerNote,
    request: { params: ConversationParams },
    responses: { 200: jsonResponse(ConversationSchema, "The conversation") },
  },
  { scope: "ai" },
);

export const updateConversation = authRoute(
  {
    method: "patch",
    path: "/v1/conversations/{id}",
    tags,
    summary: "Rename a conversation or change its model or preset",
    description: `${ownerNote} ${presetNote} \`presetId: null\` detaches the preset.`,
    request: { params: ConversationParams, body: jsonRequestBody(UpdateConversationBody) },
    responses: { 200: jsonResponse(ConversationSchema, "The conversation") },
  },
  { scope: "ai", errors: ["model_not_found"] },
);

export const deleteConversation = authRoute(
  {
    method: "delete",
    path: "/v1/conversations/{id}",
    tags,
    summary: "Delete a conversation and its messages",
    description: ownerNote,
    request: { params: ConversationParams },
    responses: { 204: { description: "Deleted" } },
  },
  { scope: "ai" },
);

export const listMessages = authRoute(
  {
    method: "get",
    path: "/v1/conversations/{id}/messages",
    tags,
    summary: "A conversation's messages, oldest first",
    description: `${ownerNote} Messages older than the deployment's retention (AI_MESSAGE_RETENTION_DAYS, default 400) are deleted.`,
    request: { params: ConversationParams, query: MessagesQuery },
    responses: { 200: jsonResponse(MessageListSchema, "A page of messages") },
  },
  { scope: "ai" },
);

/** 100 000 characters of the widest JSON escapes, and room for the rest. */
const MESSAGE_BODY_BYTES = 1024 * 1024;

export const sendMessage = authRoute(
  {
    method: "post",
    path: "/v1/conversations/{id}/messages",
    tags,
    summary: "Send a message and get the answer (streamed or not)",
    description: [
      ownerNote,
      "The user message is stored, then sent upstream as a chat completion after the preset's system prompt and parameters (the message's `presetId`, else the conversation's) and as much of the history as fits the model's context window less the answer's tokens (oldest dropped first; 400 when the new message alone does not fit). Credits, limits and errors are those of `POST /v1/chat/completions`, for the request's account.",
      "Not streamed: 201 with both messages. Streamed: the chat completion's chunks as Server-Sent Events, ending with `data: [DONE]`; the answer is stored when the stream ends (`incomplete`, with the text sent, when it broke or the client left). An exchange that fails keeps a `failed` assistant message. The first exchange titles an untitled conversation from its first message.",
      "409 when the conversation's preset was deleted.",
    ].join("\n\n"),
    request: { params: ConversationParams, body: jsonRequestBody(SendMessageBody) },
    responses: {
      200: {
        description: "The answer's chunks as Server-Sent Events (`stream: true`)",
        content: eventStreamContent("`data: {chat.completion.chunk}` lines, then `data: [DONE]`"),
      },
      201: jsonResponse(ExchangeSchema, "The stored user message and answer"),
    },
  },
  {
    scope: "ai",
    rateLimit: "ai",
    idempotent: true,
    maxBodyBytes: MESSAGE_BODY_BYTES,
    errors: ["conflict", ...AI_CALL_ERRORS],
  },
);
