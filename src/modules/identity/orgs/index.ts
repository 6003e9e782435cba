import { createRouter } from "../../../platform/openapi";
import * as handlers from "./handlers";
import * as routes from "./routes";

export const orgsRouter = createRouter()
  .openapi(routes.createOrg, handlers.createOrg)
  .openapi(routes.listOrgs, handlers.listOrgs)
  .openapi(routes.getOrg, handlers.getOrg)
  .openapi(routes.updateOrg, handlers.updateOrg)
  .openapi(routes.deleteOrg, handlers.deleteOrg)
  .openapi(routes.listMembers, handlers.listMembers)
  .openapi(routes.updateMember, handlers.updateMember)
  .openapi(routes.removeMember, handlers.removeMember)
  .openapi(routes.leaveOrg, handlers.leaveOrg)
  .openapi(routes.createInvitation, handlers.createInvitation)
  .openapi(routes.listInvitations, handlers.listInvitations)
  .openapi(routes.revokeInvitation, handlers.revokeInvitation)
  .openapi(routes.acceptInvitation, handlers.acceptInvitation)
  .openapi(routes.orgAudit, handlers.orgAudit);
