import { authRoute } from "../../../middleware/auth";
import { jsonRequestBody, jsonResponse } from "../../../platform/openapi";
import { PaginationQuery } from "../../../platform/pagination";
import {
  AcceptInvitationBody,
  AuditListSchema,
  CreateInvitationBody,
  CreateOrgBody,
  InvitationListSchema,
  InvitationParams,
  InvitationSchema,
  MemberListSchema,
  MemberParams,
  MembershipSchema,
  OrgIdParams,
  OrgListSchema,
  OrgSchema,
  UpdateMemberBody,
  UpdateOrgBody,
} from "./schema";

const noContent = { 204: { description: "Done" } };
const tags = ["Organizations"];
/** Every org route may answer 404 (not a member: the org does not exist for you) or 403 (role too low). */
const orgErrors = { errors: ["not_found", "forbidden"] as const };

export const createOrg = authRoute({
  method: "post",
  path: "/v1/orgs",
  tags,
  summary: "Create an organization; the caller becomes its owner",
  request: { body: jsonRequestBody(CreateOrgBody) },
  responses: { 201: jsonResponse(OrgSchema, "The organization") },
});

export const listOrgs = authRoute({
  method: "get",
  path: "/v1/orgs",
  tags,
  summary: "The organizations the caller belongs to",
  request: { query: PaginationQuery },
  responses: { 200: jsonResponse(OrgListSchema, "A page of organizations") },
});

export const getOrg = authRoute(
  {
    method: "get",
    path: "/v1/orgs/{orgId}",
    tags,
    summary: "One organization",
    request: { params: OrgIdParams },
    responses: { 200: jsonResponse(OrgSchema, "The organization") },
  },
  orgErrors,
);

export const updateOrg = authRoute(
  {
    method: "patch",
    path: "/v1/orgs/{orgId}",
    tags,
    summary: "Rename an organization (admins and owners)",
    request: { params: OrgIdParams, body: jsonRequestBody(UpdateOrgBody) },
    responses: { 200: jsonResponse(OrgSchema, "The organization") },
  },
  orgErrors,
);

export const deleteOrg = authRoute(
  {
    method: "delete",
    path: "/v1/orgs/{orgId}",
    tags,
    summary: "Delete an organization (owners); refused while another module keeps it (a live subscription)",
    request: { params: OrgIdParams },
    responses: noContent,
  },
  { errors: ["not_found", "forbidden", "conflict"] },
);

export const listMembers = authRoute(
  {
    method: "get",
    path: "/v1/orgs/{orgId}/members",
    tags,
    summary: "Members of an organization",
    request: { params: OrgIdParams, query: PaginationQuery },
    responses: { 200: jsonResponse(MemberListSchema, "A page of members, oldest first") },
  },
  orgErrors,
);

export const updateMember = authRoute(
  {
    method: "patch",
    path: "/v1/orgs/{orgId}/members/{userId}",
    tags,
    summary: "Change a member's role (owners alone make or unmake owners; the last owner stays)",
    request: { params: MemberParams, body: jsonRequestBody(UpdateMemberBody) },
    responses: noContent,
  },
  { errors: ["not_found", "forbidden", "conflict"] },
);

export const removeMember = authRoute(
  {
    method: "delete",
    path: "/v1/orgs/{orgId}/members/{userId}",
    tags,
    summary: "Remove a member (the last owner stays)",
    request: { params: MemberParams },
    responses: noContent,
  },
  { errors: ["not_found", "forbidden", "conflict"] },
);

export const leaveOrg = authRoute(
  {
    method: "post",
    path: "/v1/orgs/{orgId}/leave",
    tags,
    summary: "Leave an organization (the last owner cannot)",
    request: { params: OrgIdParams },
    responses: noContent,
  },
  { errors: ["not_found", "conflict"] },
);

export const createInvitation = authRoute(
  {
    method: "post",
    path: "/v1/orgs/{orgId}/invitations",
    tags,
    summary: "Invite someone by email (admins and owners; owners alone invite owners)",
    request: { params: OrgIdParams, body: jsonRequestBody(CreateInvitationBody) },
    responses: { 201: jsonResponse(InvitationSchema, "The invitation; its token went by email") },
  },
  { errors: ["not_found", "forbidden", "conflict", "plan_limit"] },
);

export const listInvitations = authRoute(
  {
    method: "get",
    path: "/v1/orgs/{orgId}/invitations",
    tags,
    summary: "Pending invitations",
    request: { params: OrgIdParams, query: PaginationQuery },
    responses: { 200: jsonResponse(InvitationListSchema, "A page of pending invitations, newest first") },
  },
  orgErrors,
);

export const revokeInvitation = authRoute(
  {
    method: "delete",
    path: "/v1/orgs/{orgId}/invitations/{id}",
    tags,
    summary: "Revoke a pending invitation",
    request: { params: InvitationParams },
    responses: noContent,
  },
  orgErrors,
);

export const acceptInvitation = authRoute(
  {
    method: "post",
    path: "/v1/invitations/accept",
    tags,
    summary: "Accept an invitation sent to the caller's verified email",
    request: { body: jsonRequestBody(AcceptInvitationBody) },
    responses: { 200: jsonResponse(MembershipSchema, "The new membership") },
  },
  { errors: ["invalid_token", "forbidden", "conflict", "plan_limit"] },
);

export const orgAudit = authRoute(
  {
    method: "get",
    path: "/v1/orgs/{orgId}/audit",
    tags,
    summary: "The organization's audit log (admins and owners)",
    request: { params: OrgIdParams, query: PaginationQuery },
    responses: { 200: jsonResponse(AuditListSchema, "A page of entries, newest first") },
  },
  orgErrors,
);
