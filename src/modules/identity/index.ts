import type { Module } from "../../platform/module";
import { createRouter } from "../../platform/openapi";
import { adminRouter } from "./admin";
import { apiKeysRouter } from "./api-keys";
import * as handlers from "./handlers";
import { orgsRouter } from "./orgs";
import { purgeExpiredIdentityRows } from "./retention";
import * as routes from "./routes";

const identityRouter = createRouter()
  .openapi(routes.register, handlers.register)
  .openapi(routes.login, handlers.login)
  .openapi(routes.refresh, handlers.refresh)
  .openapi(routes.logout, handlers.logout)
  .openapi(routes.logoutAll, handlers.logoutAll)
  .openapi(routes.jwks, handlers.jwks)
  .openapi(routes.getMe, handlers.getMe)
  .openapi(routes.updateMe, handlers.updateMe)
  .openapi(routes.changePassword, handlers.changePassword)
  .openapi(routes.listSessions, handlers.listSessions)
  .openapi(routes.endSession, handlers.endSession)
  .openapi(routes.verifyEmail, handlers.verifyEmail)
  .openapi(routes.resendVerification, handlers.resendVerification)
  .openapi(routes.forgotPassword, handlers.forgotPassword)
  .openapi(routes.resetPassword, handlers.resetPassword)
  .openapi(routes.changeEmail, handlers.changeEmail)
  .route("/", orgsRouter)
  .route("/", apiKeysRouter)
  .route("/", adminRouter);

export const identityModule: Module = {
  name: "identity",
  router: identityRouter,
  crons: [
    {
      name: "identity.purge-expired",
      schedule: "*/5 * * * *",
      run: (env, { now }) => purgeExpiredIdentityRows(env, now),
    },
  ],
};
