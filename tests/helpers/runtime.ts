import { env as testEnv } from "cloudflare:test";
import { configOf } from "../../src/env";
import type { Runtime } from "../../src/platform/context";
import { createLogger, type Logger } from "../../src/platform/logger";

/** What an entry point gives the code it runs: these bindings (the tests' by default), their parsed config, a logger. */
export const runtimeOf = (bindings: Env = testEnv, logger: Logger = createLogger("error")): Runtime => ({
  env: bindings,
  config: configOf(bindings),
  logger,
});
