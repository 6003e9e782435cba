import type { RouteHandler } from "@hono/zod-openapi";
import type { AppEnv } from "../../platform/context";
import { actorOf } from "../identity/auth";
import type * as routes from "./routes";
import * as service from "./service";

type Handler<R extends keyof typeof routes> = RouteHandler<(typeof routes)[R], AppEnv>;

export const listPlans: Handler<"listPlans"> = async (c) => {
  c.header("Cache-Control", "public, max-age=60");
  return c.json(await service.listPlans(c.env), 200);
};

export const setOverride: Handler<"setOverride"> = async (c) =>
  c.json(await service.setOverride(c.env, actorOf(c), c.req.valid("param").accountId, c.req.valid("json").planId), 200);

export const deleteOverride: Handler<"deleteOverride"> = async (c) => {
  await service.deleteOverride(c.env, actorOf(c), c.req.valid("param").accountId);
  return c.body(null, 204);
};
