import type { RouteHandler } from "@hono/zod-openapi";
import type { AppEnv } from "../../platform/context";
import { accountOf, actorOf } from "../identity/auth";
import { creditsOf, ledgerOf } from "./ledger";
import type * as routes from "./routes";
import { adjustCredits as adjust } from "./service";

type Handler<R extends keyof typeof routes> = RouteHandler<(typeof routes)[R], AppEnv>;

export const getCredits: Handler<"getCredits"> = async (c) => c.json(await creditsOf(c.env, accountOf(c).id), 200);

export const getLedger: Handler<"getLedger"> = async (c) =>
  c.json(await ledgerOf(c.env, accountOf(c).id, c.req.valid("query")), 200);

export const adjustCredits: Handler<"adjustCredits"> = async (c) =>
  c.json(await adjust(c.env, actorOf(c), c.req.valid("json")), 201);
