import type { RouteHandler } from "@hono/zod-openapi";
import { actorOf } from "../../../middleware/auth";
import { configuredOf } from "../../../middleware/config";
import { requireOrgPermission } from "../../../middleware/tenancy";
import type { AppEnv } from "../../../platform/context";
import { listAudit } from "../audit";
import * as invitations from "./invitations";
import type * as routes from "./routes";
import * as service from "./service";

type Handler<R extends keyof typeof routes> = RouteHandler<(typeof routes)[R], AppEnv>;

export const createOrg: Handler<"createOrg"> = async (c) =>
  c.json(await service.createOrg(c.env, actorOf(c), c.req.valid("json")), 201);

export const listOrgs: Handler<"listOrgs"> = async (c) =>
  c.json(await service.listMyOrgs(c.env, actorOf(c).userId, c.req.valid("query")), 200);

export const getOrg: Handler<"getOrg"> = async (c) =>
  c.json(await service.getOrg(c.env, actorOf(c), c.req.valid("param").orgId), 200);

export const updateOrg: Handler<"updateOrg"> = async (c) =>
  c.json(await service.updateOrg(c.env, actorOf(c), c.req.valid("param").orgId, c.req.valid("json")), 200);

export const deleteOrg: Handler<"deleteOrg"> = async (c) => {
  await service.deleteOrg(c.env, actorOf(c), c.req.valid("param").orgId);
  return c.body(null, 204);
};

export const listMembers: Handler<"listMembers"> = async (c) =>
  c.json(await service.listMembers(c.env, actorOf(c), c.req.valid("param").orgId, c.req.valid("query")), 200);

export const updateMember: Handler<"updateMember"> = async (c) => {
  const { orgId, userId } = c.req.valid("param");
  await service.changeMemberRole(c.env, actorOf(c), orgId, userId, c.req.valid("json").role);
  return c.body(null, 204);
};

export const removeMember: Handler<"removeMember"> = async (c) => {
  const { orgId, userId } = c.req.valid("param");
  await service.removeMember(c.env, actorOf(c), orgId, userId);
  return c.body(null, 204);
};

export const leaveOrg: Handler<"leaveOrg"> = async (c) => {
  await service.leaveOrg(c.env, actorOf(c), c.req.valid("param").orgId);
  return c.body(null, 204);
};

export const createInvitation: Handler<"createInvitation"> = async (c) =>
  c.json(
    await invitations.createInvitation(configuredOf(c), actorOf(c), c.req.valid("param").orgId, c.req.valid("json")),
    201,
  );

export const listInvitations: Handler<"listInvitations"> = async (c) =>
  c.json(await invitations.listInvitations(c.env, actorOf(c), c.req.valid("param").orgId, c.req.valid("query")), 200);

export const revokeInvitation: Handler<"revokeInvitation"> = async (c) => {
  const { orgId, id } = c.req.valid("param");
  await invitations.revokeInvitation(c.env, actorOf(c), orgId, id);
  return c.body(null, 204);
};

export const acceptInvitation: Handler<"acceptInvitation"> = async (c) =>
  c.json(await invitations.acceptInvitation(c.env, actorOf(c), c.req.valid("json").token), 200);

export const orgAudit: Handler<"orgAudit"> = async (c) => {
  const { orgId } = c.req.valid("param");
  await requireOrgPermission(c.env, actorOf(c).userId, orgId, "audit:read");
  return c.json(await listAudit(c.env, { orgId }, c.req.valid("query")), 200);
};
