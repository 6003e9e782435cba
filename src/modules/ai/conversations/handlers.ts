import type { RouteHandler } from "@hono/zod-openapi";
import { requestContextOf } from "../../../middleware/auth";
import type { AppEnv } from "../../../platform/context";
import { sseResponse } from "../../../platform/sse";
import { callerOf as aiCallerOf } from "../metering";
import type * as routes from "./routes";
import * as service from "./service";

type Handler<R extends keyof typeof routes> = RouteHandler<(typeof routes)[R], AppEnv>;

export const createConversation: Handler<"createConversation"> = async (c) =>
  c.json(await service.createConversation(requestContextOf(c), c.req.valid("json")), 201);

export const listConversations: Handler<"listConversations"> = async (c) =>
  c.json(await service.listConversations(requestContextOf(c), c.req.valid("query")), 200);

export const getConversation: Handler<"getConversation"> = async (c) =>
  c.json(await service.getConversation(requestContextOf(c), c.req.valid("param").id), 200);

export const updateConversation: Handler<"updateConversation"> = async (c) =>
  c.json(await service.updateConversation(requestContextOf(c), c.req.valid("param").id, c.req.valid("json")), 200);

export const deleteConversation: Handler<"deleteConversation"> = async (c) => {
  await service.deleteConversation(requestContextOf(c), c.req.valid("param").id);
  return c.body(null, 204);
};

export const listMessages: Handler<"listMessages"> = async (c) =>
  c.json(await service.listMessages(requestContextOf(c), c.req.valid("param").id, c.req.valid("query")), 200);

export const sendMessage: Handler<"sendMessage"> = async (c) => {
  const sent = await service.sendMessage(aiCallerOf(c), c.req.valid("param").id, c.req.valid("json"), c.req.raw.signal);
  if (sent.kind === "json") {
    return c.json({ userMessage: sent.userMessage, assistantMessage: sent.assistantMessage }, 201);
  }
  return sseResponse(sent.stream);
};
