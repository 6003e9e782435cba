import { createRouter } from "../../../platform/openapi";
import * as handlers from "./handlers";
import * as routes from "./routes";

export const apiKeysRouter = createRouter()
  .openapi(routes.createApiKey, handlers.createApiKey)
  .openapi(routes.listApiKeys, handlers.listApiKeys)
  .openapi(routes.revokeApiKey, handlers.revokeApiKey);
