import type { RouteConfig } from "@hono/zod-openapi";
import type { MiddlewareHandler } from "hono";
import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../../platform/context";
import { AppError, type ErrorCode } from "../../platform/errors";
import { defineRoute, type RouteOptions } from "../../platform/openapi";
import { sessionState } from "./session-cache";
import { verifyAccessToken } from "./tokens";

/**
 * Authentication: `Authorization: Bearer <access token>` becomes the request's principal.
 * Every authenticated route is built with `authRoute`, which puts this middleware first and
 * documents the bearer scheme and the 401.
 */

const unauthorized = (detail: string) =>
  new AppError("unauthorized", detail, { headers: { "WWW-Authenticate": 'Bearer realm="stratus"' } });

export function authenticate(): MiddlewareHandler<AppEnv> {
  return createMiddleware<AppEnv>(async (c, next) => {
    const header = c.req.header("authorization") ?? "";
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    if (!match?.[1]) throw unauthorized("Send Authorization: Bearer <access token>.");
    const claims = await verifyAccessToken(c.get("config"), match[1]).catch(() => {
      throw unauthorized("The access token is invalid or expired.");
    });
    const state = await sessionState(c.env, claims.sessionId);
    if (!state.active || state.userId !== claims.userId) {
      throw unauthorized("The session of this access token has ended.");
    }
    c.set("principal", { id: state.userId, via: "session", platformRole: state.role, sessionId: claims.sessionId });
    await next();
  });
}

export type AuthRouteOptions = RouteOptions & { errors?: readonly ErrorCode[] };

/** `defineRoute` for a route that needs a signed-in caller. */
export function authRoute<P extends string, R extends Omit<RouteConfig, "path"> & { path: P }>(
  config: R,
  options: AuthRouteOptions = {},
) {
  return defineRoute(
    { ...config, security: [{ bearerAuth: [] }], middleware: [authenticate()] },
    { ...options, errors: [...(options.errors ?? []), "unauthorized"] },
  ) as unknown as R & { getRoutingPath(): string };
}
