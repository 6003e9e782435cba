import type { RouteHandler } from "@hono/zod-openapi";
import type { Context } from "hono";
import { accountOf, principalOf } from "../../../middleware/auth";
import type { AppEnv } from "../../../platform/context";
import type * as routes from "./routes";
import * as service from "./service";

type Handler<R extends keyof typeof routes> = RouteHandler<(typeof routes)[R], AppEnv>;

const callerOf = (c: Context<AppEnv>): service.Caller => ({ userId: principalOf(c).id, account: accountOf(c) });

export const createPreset: Handler<"createPreset"> = async (c) =>
  c.json(await service.createPreset(c.env, callerOf(c), c.req.valid("json")), 201);

export const listPresets: Handler<"listPresets"> = async (c) =>
  c.json(await service.listPresets(c.env, accountOf(c), c.req.valid("query")), 200);

export const getPreset: Handler<"getPreset"> = async (c) =>
  c.json(await service.getPreset(c.env, accountOf(c), c.req.valid("param").id), 200);

export const updatePreset: Handler<"updatePreset"> = async (c) =>
  c.json(await service.updatePreset(c.env, callerOf(c), c.req.valid("param").id, c.req.valid("json")), 200);

export const deletePreset: Handler<"deletePreset"> = async (c) => {
  await service.deletePreset(c.env, callerOf(c), c.req.valid("param").id);
  return c.body(null, 204);
};
