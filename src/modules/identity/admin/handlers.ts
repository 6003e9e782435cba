import type { RouteHandler } from "@hono/zod-openapi";
import { actorOf } from "../../../middleware/auth";
import type { AppEnv } from "../../../platform/context";
import { listAudit } from "../audit";
import { deleteOrg } from "../orgs/service";
import type * as routes from "./routes";
import * as service from "./service";

type Handler<R extends keyof typeof routes> = RouteHandler<(typeof routes)[R], AppEnv>;

export const listUsers: Handler<"listUsers"> = async (c) => {
  const { limit, cursor, ...filter } = c.req.valid("query");
  return c.json(await service.listUsers(c.env, filter, { limit, cursor }), 200);
};

export const updateUser: Handler<"updateUser"> = async (c) => {
  return c.json(await service.updateUser(c.env, actorOf(c), c.req.valid("param").id, c.req.valid("json")), 200);
};

export const platformAudit: Handler<"platformAudit"> = async (c) =>
  c.json(await listAudit(c.env, {}, c.req.valid("query")), 200);

export const forceDeleteOrg: Handler<"forceDeleteOrg"> = async (c) => {
  await deleteOrg(c.env, actorOf(c), c.req.valid("param").orgId, { forced: true });
  return c.body(null, 204);
};
