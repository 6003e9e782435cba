import { createRouter } from "../../../platform/openapi";
import * as handlers from "./handlers";
import * as routes from "./routes";

export const adminRouter = createRouter()
  .openapi(routes.listUsers, handlers.listUsers)
  .openapi(routes.updateUser, handlers.updateUser)
  .openapi(routes.platformAudit, handlers.platformAudit)
  .openapi(routes.forceDeleteOrg, handlers.forceDeleteOrg);
