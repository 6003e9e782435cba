import type { RouteHandler } from "@hono/zod-openapi";
import { actorOf, principalOf } from "../../middleware/auth";
import { accountPermitting, requireOrgPermission } from "../../middleware/tenancy";
import type { AppEnv } from "../../platform/context";
import { mostRefused } from "../../platform/rate-limit/refusals";
import { limitsOf } from "./quotas";
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

/** The request's account: the caller's own, or the org of `X-Stratus-Org` for its members. */
export const myLimits: Handler<"myLimits"> = async (c) =>
  c.json(await limitsOf(c.env, accountPermitting(c, "org:read").id), 200);

/** The documented alias of `GET /v1/me/limits` with `X-Stratus-Org: <orgId>`. */
export const orgLimits: Handler<"orgLimits"> = async (c) => {
  const { orgId } = c.req.valid("param");
  await requireOrgPermission(c.env, principalOf(c).id, orgId, "org:read");
  return c.json(await limitsOf(c.env, orgId), 200);
};

export const topRefused: Handler<"topRefused"> = async (c) =>
  c.json(await mostRefused(c.env, c.req.valid("query").limit), 200);
