import { authRoute } from "../../../middleware/auth";
import { jsonRequestBody, jsonResponse } from "../../../platform/openapi";
import { PaginationQuery } from "../../../platform/pagination";
import { AuditListSchema, OrgIdParams } from "../orgs/schema";
import { AdminUpdateUserBody, AdminUserListSchema, AdminUserParams, AdminUserQuery, AdminUserSchema } from "./schema";

const tags = ["Admin"];

export const listUsers = authRoute(
  {
    method: "get",
    path: "/v1/admin/users",
    tags,
    summary: "Users, oldest first, filtered by email prefix and role",
    request: { query: AdminUserQuery },
    responses: { 200: jsonResponse(AdminUserListSchema, "A page of users") },
  },
  { admin: true },
);

export const updateUser = authRoute(
  {
    method: "patch",
    path: "/v1/admin/users/{id}",
    tags,
    summary: "Change a user's platform role or disable them (disabling ends their sessions)",
    request: { params: AdminUserParams, body: jsonRequestBody(AdminUpdateUserBody) },
    responses: { 200: jsonResponse(AdminUserSchema, "The user") },
  },
  { admin: true, errors: ["conflict"] },
);

export const platformAudit = authRoute(
  {
    method: "get",
    path: "/v1/admin/audit",
    tags,
    summary: "The whole audit log, newest first",
    request: { query: PaginationQuery },
    responses: { 200: jsonResponse(AuditListSchema, "A page of entries") },
  },
  { admin: true },
);

export const forceDeleteOrg = authRoute(
  {
    method: "delete",
    path: "/v1/admin/orgs/{orgId}",
    tags,
    summary: "Delete an organization that still holds purchased credits (audited, with what was overridden)",
    description:
      "For platform admins. The org's purchased credits are forfeited; an org with a live subscription is still refused (409): cancel it first.",
    request: { params: OrgIdParams },
    responses: { 204: { description: "Deleted" } },
  },
  { admin: true, errors: ["not_found", "conflict"] },
);
