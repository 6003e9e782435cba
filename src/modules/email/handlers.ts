import type { RouteHandler } from "@hono/zod-openapi";
import type { AppEnv } from "../../platform/context";
import { AppError } from "../../platform/errors";
import type * as routes from "./routes";
import * as service from "./service";

export const listOutbox: RouteHandler<typeof routes.listOutbox, AppEnv> = async (c) => {
  // Outside development the route does not exist: messages can hold live tokens.
  if (c.get("config").ENVIRONMENT !== "development") {
    throw new AppError("not_found", `No route matches ${c.req.method} ${c.req.path}.`);
  }
  return c.json(await service.listOutbox(c.env, c.req.valid("query")), 200);
};
