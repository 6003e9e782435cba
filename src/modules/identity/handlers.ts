import type { RouteHandler } from "@hono/zod-openapi";
import type { Context } from "hono";
import { principalOf } from "../../middleware/auth";
import { configuredOf } from "../../middleware/config";
import type { AppEnv } from "../../platform/context";
import { describeError } from "../../platform/logger";
import { chargeEmailAction, limitPasswordCheck } from "./brute-force";
import * as flows from "./email-flows";
import type * as routes from "./routes";
import * as service from "./service";
import { cachedUser } from "./session-cache";
import { type ClientInfo, revokeSession, revokeUserSessions, rotateRefreshToken } from "./sessions";
import { publicJwks } from "./tokens";

type Handler<R extends keyof typeof routes> = RouteHandler<(typeof routes)[R], AppEnv>;

const clientOf = (c: Context<AppEnv>): ClientInfo => ({
  userAgent: c.req.header("user-agent") ?? null,
  ip: c.req.header("cf-connecting-ip") ?? null,
});

export const register: Handler<"register"> = async (c) => {
  const input = c.req.valid("json");
  await chargeEmailAction(c, "register", input.email);
  return c.json(await service.register(c.env, c.get("config"), input, clientOf(c)), 201);
};

export const login: Handler<"login"> = async (c) => {
  const input = c.req.valid("json");
  const signedIn = await limitPasswordCheck(c, input.email, () =>
    service.login(c.env, c.get("config"), input, clientOf(c)),
  );
  return c.json(signedIn, 200);
};

export const refresh: Handler<"refresh"> = async (c) =>
  c.json(await rotateRefreshToken(c.env, c.get("config"), c.req.valid("json").refreshToken), 200);

export const logout: Handler<"logout"> = async (c) => {
  const { sessionId } = principalOf(c);
  if (sessionId) await revokeSession(c.env, sessionId, "logout");
  return c.body(null, 204);
};

export const logoutAll: Handler<"logoutAll"> = async (c) => {
  await revokeUserSessions(c.env, principalOf(c).id, "logout_all");
  return c.body(null, 204);
};

export const jwks: Handler<"jwks"> = async (c) => {
  c.header("Cache-Control", "public, max-age=300");
  return c.json(await publicJwks(c.get("config")), 200);
};

export const getMe: Handler<"getMe"> = async (c) => c.json(await service.getMe(c.env, principalOf(c).id), 200);

export const updateMe: Handler<"updateMe"> = async (c) =>
  c.json(await service.updateMe(c.env, principalOf(c).id, c.req.valid("json")), 200);

/** The signed-in user's email, for the sign-in limits of changes that ask for the password. */
const ownEmail = async (c: Context<AppEnv>) => (await cachedUser(c.env, principalOf(c).id)).email;

export const changePassword: Handler<"changePassword"> = async (c) => {
  await limitPasswordCheck(c, await ownEmail(c), () =>
    service.changePassword(c.env, principalOf(c), c.req.valid("json")),
  );
  return c.body(null, 204);
};

export const listSessions: Handler<"listSessions"> = async (c) =>
  c.json(await service.listSessions(c.env, principalOf(c), c.req.valid("query")), 200);

export const endSession: Handler<"endSession"> = async (c) => {
  await service.endSession(c.env, principalOf(c).id, c.req.valid("param").id);
  return c.body(null, 204);
};

export const verifyEmail: Handler<"verifyEmail"> = async (c) => {
  await flows.verifyEmail(c.env, c.req.valid("json").token);
  return c.body(null, 204);
};

/** Runs after the answer, so a known and an unknown email take the same time to answer. */
function afterAnswer(c: Context<AppEnv>, what: string, work: Promise<void>) {
  const logger = c.get("logger");
  c.executionCtx.waitUntil(work.catch((error: unknown) => logger.error(`${what} failed`, describeError(error))));
}

export const resendVerification: Handler<"resendVerification"> = async (c) => {
  const { email } = c.req.valid("json");
  await chargeEmailAction(c, "verification_resend", email);
  afterAnswer(c, "verification email", flows.resendVerification(configuredOf(c), email));
  return c.body(null, 202);
};

export const forgotPassword: Handler<"forgotPassword"> = async (c) => {
  const { email } = c.req.valid("json");
  await chargeEmailAction(c, "password_reset", email);
  afterAnswer(c, "password reset email", flows.requestPasswordReset(configuredOf(c), email));
  return c.body(null, 202);
};

export const resetPassword: Handler<"resetPassword"> = async (c) => {
  await flows.resetPassword(c.env, c.req.valid("json"));
  return c.body(null, 204);
};

export const changeEmail: Handler<"changeEmail"> = async (c) => {
  await limitPasswordCheck(c, await ownEmail(c), () =>
    flows.requestEmailChange(configuredOf(c), principalOf(c).id, c.req.valid("json")),
  );
  return c.body(null, 202);
};
