import type { Module } from "../../platform/module";
import { createRouter } from "../../platform/openapi";
import * as handlers from "./handlers";
import * as routes from "./routes";

export const plansModule: Module = {
  name: "plans",
  router: createRouter()
    .openapi(routes.listPlans, handlers.listPlans)
    .openapi(routes.setOverride, handlers.setOverride)
    .openapi(routes.deleteOverride, handlers.deleteOverride)
    .openapi(routes.myLimits, handlers.myLimits)
    .openapi(routes.orgLimits, handlers.orgLimits)
    .openapi(routes.topRefused, handlers.topRefused),
};
