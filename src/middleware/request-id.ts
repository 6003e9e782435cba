import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../platform/context";
import { newId } from "../platform/ids";

/** A client's own id is kept when it is a sane token; otherwise one is generated. */
const SANE_REQUEST_ID = /^[A-Za-z0-9._:-]{8,128}$/;

export const requestId = createMiddleware<AppEnv>(async (c, next) => {
  const offered = c.req.header("x-request-id");
  const id = offered && SANE_REQUEST_ID.test(offered) ? offered : newId("req");
  c.set("requestId", id);
  await next();
  c.res.headers.set("X-Request-Id", id);
});
