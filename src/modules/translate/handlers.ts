import type { RouteHandler } from "@hono/zod-openapi";
import type { Context } from "hono";
import { requestContextOf } from "../../middleware/auth";
import { accountPermitting } from "../../middleware/tenancy";
import type { AppEnv } from "../../platform/context";
import { newId } from "../../platform/ids";
import { detect as detectLanguages, languages as providerLanguages } from "./lookups";
import type * as routes from "./routes";
import { type TranslateCaller, translate as translateTexts } from "./service";
import { statsOf } from "./stats";

type Handler<R extends keyof typeof routes> = RouteHandler<(typeof routes)[R], AppEnv>;

const callerOf = (c: Context<AppEnv>): TranslateCaller => ({ ...requestContextOf(c), callId: newId("trn") });

export const translate: Handler<"translate"> = async (c) => {
  const { translations, chargedMillicredits } = await translateTexts(callerOf(c), c.req.valid("json"));
  c.header("x-stratus-cost-millicredits", String(chargedMillicredits));
  return c.json({ translations }, 200);
};

export const detect: Handler<"detect"> = async (c) => {
  const body = c.req.valid("json");
  const { detections, chargedMillicredits } = await detectLanguages(callerOf(c), body.q, body.provider);
  c.header("x-stratus-cost-millicredits", String(chargedMillicredits));
  return c.json({ detections }, 200);
};

export const languages: Handler<"languages"> = async (c) => c.json(await providerLanguages(callerOf(c)), 200);

/** An org's statistics are for the people who manage its spending, as with AI usage. */
export const stats: Handler<"stats"> = async (c) =>
  c.json(await statsOf(c.env, accountPermitting(c, "billing:manage").id, c.req.valid("query")), 200);

export const platformStats: Handler<"platformStats"> = async (c) =>
  c.json(await statsOf(c.env, null, c.req.valid("query")), 200);
