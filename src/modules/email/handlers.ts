import type { RouteHandler } from "@hono/zod-openapi";
import type { AppEnv } from "../../platform/context";
import { AppError } from "../../platform/errors";
import type * as routes from "./routes";
import * as service from "./service";

const LOCAL_HOSTS = new Set(["localhost", "127.0.0.1", "[::1]"]);

export const listOutbox: RouteHandler<typeof routes.listOutbox, AppEnv> = async (c) => {
  // Outside local development the route does not exist: messages hold live tokens. The host
  // check guards a deployment that kept ENVIRONMENT=development by mistake.
  const host = new URL(c.req.url).hostname;
  if (c.get("config").ENVIRONMENT !== "development" || !LOCAL_HOSTS.has(host)) {
    throw new AppError("not_found", `No route matches ${c.req.method} ${c.req.path}.`);
  }
  return c.json(await service.listOutbox(c.env, c.req.valid("query")), 200);
};
