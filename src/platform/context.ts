import type { Config } from "../env";
import type { Logger } from "./logger";

/**
 * Who a request acts as, set by the identity module's authentication: a user signed in
 * with an access token (`via: "session"`) or through one of their API keys.
 */
export type Principal = {
  /** The user's id, whichever credential was presented. */
  id: string;
  via: "session" | "api_key";
  /** The platform role; API keys never carry `admin` (ARCHITECTURE.md, Auth). */
  platformRole: "user" | "admin";
  sessionId?: string;
};

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
