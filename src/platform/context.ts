import type { Config } from "../env";
import type { Logger } from "./logger";

/** Who a request acts as; set by the auth middleware. */
export type Principal = { id: string };

/** The typed Hono environment every router and middleware shares. */
export type AppEnv = {
  Bindings: Env;
  Variables: {
    requestId: string;
    config: Config;
    logger: Logger;
    principal?: Principal;
  };
};
