import type { RouteHandler } from "@hono/zod-openapi";
import { actorOf } from "../../../middleware/auth";
import type { AppEnv } from "../../../platform/context";
import type * as routes from "./routes";
import * as service from "./service";

type Handler<R extends keyof typeof routes> = RouteHandler<(typeof routes)[R], AppEnv>;

export const createApiKey: Handler<"createApiKey"> = async (c) =>
  c.json(await service.createApiKey(c.env, actorOf(c), c.req.valid("json")), 201);

export const listApiKeys: Handler<"listApiKeys"> = async (c) =>
  c.json(await service.listApiKeys(c.env, actorOf(c).userId, c.req.valid("query")), 200);

export const revokeApiKey: Handler<"revokeApiKey"> = async (c) => {
  await service.revokeApiKey(c.env, actorOf(c), c.req.valid("param").id);
  return c.body(null, 204);
};
