import type { OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "./context";
import type { CronTask } from "./cron";
import type { ErrorDialect } from "./problem";
import type { TaskDefinition } from "./queue/tasks";

/**
 * What a module gives the composition root (`src/modules.ts`): its router (mounting its own
 * sub-routers), its queue tasks and its cron tasks. What it needs of other modules comes in
 * through the ports its `api.ts` declares, wired by the root; nothing registers on import.
 */
export type Module = {
  name: string;
  router?: OpenAPIHono<AppEnv>;
  // biome-ignore lint/suspicious/noExplicitAny: a registry holds tasks of every payload type
  tasks?: readonly TaskDefinition<any>[];
  crons?: readonly CronTask[];
  /** The wire format of its errors, for a module whose routes speak another one than problem+json. */
  errorDialect?: ErrorDialect;
};
