import { createRouter } from "../../platform/openapi";
import * as handlers from "./handlers";
import * as routes from "./routes";
import "./org-cleanup";

export const aiRouter = createRouter()
  .openapi(routes.listModels, handlers.listModels)
  .openapi(routes.chatCompletions, handlers.chatCompletions)
  .openapi(routes.createEmbeddings, handlers.createEmbeddings)
  .openapi(routes.createTranscription, handlers.createTranscription)
  .openapi(routes.createSpeech, handlers.createSpeech)
  .openapi(routes.createImages, handlers.createImages)
  .openapi(routes.getUsage, handlers.getUsage);
