import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import { configOf, loggerOf } from "../env";
import type { AppEnv, Configured } from "../platform/context";
import { AppError } from "../platform/errors";
import { createLogger } from "../platform/logger";

/** Parses the configuration (cached per env) and gives the request its logger. */
export const loadConfig = createMiddleware<AppEnv>(async (c, next) => {
  let config: ReturnType<typeof configOf>;
  try {
    config = configOf(c.env);
  } catch (error) {
    if (error instanceof AppError) {
      // Names the bad keys, never their values (the error carries only keys and messages).
      createLogger("error", { requestId: c.get("requestId") }).error("configuration invalid", {
        code: error.code,
        detail: error.detail,
        errors: error.errors,
      });
    }
    throw error;
  }
  c.set("config", config);
  c.set("logger", loggerOf(c.env, { requestId: c.get("requestId") }));
  await next();
});

/** The bindings and the configuration `loadConfig` parsed, for a service that needs only those. */
export const configuredOf = (c: Context<AppEnv>): Configured => ({ env: c.env, config: c.get("config") });
