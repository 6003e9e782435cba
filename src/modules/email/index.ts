import type { Module } from "../../platform/module";
import { createRouter } from "../../platform/openapi";
import { deliverEmailTask } from "./consumers";
import * as handlers from "./handlers";
import * as routes from "./routes";
import { purgeOldOutbox } from "./service";

export const emailModule: Module = {
  name: "email",
  router: createRouter().openapi(routes.listOutbox, handlers.listOutbox),
  tasks: [deliverEmailTask],
  crons: [
    {
      name: "email.purge-outbox",
      schedule: "*/5 * * * *",
      run: async (env, { now }) => ({ deleted: await purgeOldOutbox(env, now) }),
    },
  ],
};
