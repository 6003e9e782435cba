import type { Module } from "../../platform/module";
import { createRouter } from "../../platform/openapi";
import { conversationsRouter } from "./conversations";
import { purgeOldMessages } from "./conversations/service";
import { openAiErrors } from "./error-dialect";
import * as handlers from "./handlers";
import { presetsRouter } from "./presets";
import * as routes from "./routes";
import { purgeOldUsage } from "./usage";

export const aiModule: Module = {
  name: "ai",
  errorDialect: openAiErrors,
  router: createRouter()
    .openapi(routes.listModels, handlers.listModels)
    .openapi(routes.chatCompletions, handlers.chatCompletions)
    .openapi(routes.createEmbeddings, handlers.createEmbeddings)
    .openapi(routes.createTranscription, handlers.createTranscription)
    .openapi(routes.createSpeech, handlers.createSpeech)
    .openapi(routes.createImages, handlers.createImages)
    .openapi(routes.getUsage, handlers.getUsage)
    .route("/", presetsRouter)
    .route("/", conversationsRouter),
  crons: [
    {
      name: "ai.purge-usage",
      schedule: "*/5 * * * *",
      run: async (env, { now, config }) => ({ deleted: await purgeOldUsage({ env, config }, now) }),
    },
    {
      name: "ai.purge-messages",
      schedule: "*/5 * * * *",
      run: async (env, { now, config }) => ({ deleted: await purgeOldMessages({ env, config }, now) }),
    },
  ],
};
