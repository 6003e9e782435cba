import { createRouter } from "../../../platform/openapi";
import * as handlers from "./handlers";
import * as routes from "./routes";

export const conversationsRouter = createRouter()
  .openapi(routes.createConversation, handlers.createConversation)
  .openapi(routes.listConversations, handlers.listConversations)
  .openapi(routes.getConversation, handlers.getConversation)
  .openapi(routes.updateConversation, handlers.updateConversation)
  .openapi(routes.deleteConversation, handlers.deleteConversation)
  .openapi(routes.listMessages, handlers.listMessages)
  .openapi(routes.sendMessage, handlers.sendMessage);
