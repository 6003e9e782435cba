import type { Module } from "../../platform/module";
import { createRouter } from "../../platform/openapi";
import * as handlers from "./handlers";
import * as routes from "./routes";
import { purgeOldUsage } from "./stats";

export const translateModule: Module = {
  name: "translate",
  router: createRouter()
    .openapi(routes.translate, handlers.translate)
    .openapi(routes.detect, handlers.detect)
    .openapi(routes.languages, handlers.languages)
    .openapi(routes.stats, handlers.stats)
    .openapi(routes.platformStats, handlers.platformStats),
  crons: [
    {
      name: "translate.purge-usage",
      schedule: "*/5 * * * *",
      run: async (env, { now, config }) => ({ deleted: await purgeOldUsage({ env, config }, now) }),
    },
  ],
};
