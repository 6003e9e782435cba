import { createRouter } from "../../../platform/openapi";
import * as handlers from "./handlers";
import * as routes from "./routes";

export const presetsRouter = createRouter()
  .openapi(routes.createPreset, handlers.createPreset)
  .openapi(routes.listPresets, handlers.listPresets)
  .openapi(routes.getPreset, handlers.getPreset)
  .openapi(routes.updatePreset, handlers.updatePreset)
  .openapi(routes.deletePreset, handlers.deletePreset);
