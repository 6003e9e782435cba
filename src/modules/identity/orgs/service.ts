import { and, eq, sql } from "drizzle-orm";
import { can, type OrgRole } from "../../../middleware/permissions";
import { requireOrgPermission } from "../../../middleware/tenancy";
import { clock } from "../../../platform/clock";
import type { Actor } from "../../../platform/context";
import { asStatement, database } from "../../../platform/db";
import { AppError } from "../../../platform/errors";
import { newId } from "../../../platform/ids";
import { keyset, toPage } from "../../../platform/pagination";
import { forgetKeysOf, revokeOrgKeysWithoutRights } from "../api-keys/service";
import { auditInsert, auditInsertIfChanged } from "../audit";
import { forgetMembership } from "../session-cache";
import { memberships, orgs, users } from "../tables";
import { orgCleanupStatements, orgDeletionFollowUps, reasonsToKeepOrg } from "./guards";
import { membershipRole } from "./memberships";

/** Organizations and their members. Every function checks the actor's permission first. */

type OrgRow = typeof orgs.$inferSelect;

const publicOrg = (org: OrgRow, role: OrgRole) => ({
  id: org.id,
  name: org.name,
  role,
  createdAt: clock.iso(org.createdAt),
});

export async function createOrg(env: Env, actor: Actor, input: { name: string }) {
  const db = database(env);
  const now = clock.now();
  const org: OrgRow = {
    id: newId("org", now),
    name: input.name,
    createdBy: actor.userId,
    createdAt: now,
    updatedAt: now,
  };
  await db.batch([
    db.insert(orgs).values(org),
    db.insert(memberships).values({ orgId: org.id, userId: actor.userId, role: "owner", createdAt: now }),
    auditInsert(env, {
      orgId: org.id,
      actorId: actor.userId,
      action: "org.created",
      targetType: "org",
      targetId: org.id,
      requestId: actor.requestId,
    }),
  ]);
  return publicOrg(org, "owner");
}

export async function listMyOrgs(env: Env, userId: string, page: { limit: number; cursor?: string }) {
  const seek = keyset(page.cursor, orgs.createdAt, orgs.id, "asc");
  const rows = await database(env)
    .select({ org: orgs, role: memberships.role })
    .from(memberships)
    .innerJoin(orgs, eq(orgs.id, memberships.orgId))
    .where(and(eq(memberships.userId, userId), seek.after))
    .orderBy(...seek.orderBy)
    .limit(page.limit + 1);
  const { items, nextCursor } = toPage(rows, page.limit, (row) => ({ key: row.org.createdAt, id: row.org.id }));
  return { items: items.map((row) => publicOrg(row.org, row.role)), nextCursor };
}

async function orgRow(env: Env, orgId: string): Promise<OrgRow> {
  const [org] = await database(env).select().from(orgs).where(eq(orgs.id, orgId));
  if (!org) throw new AppError("not_found", "No such organization.");
  return org;
}

export async function getOrg(env: Env, actor: Actor, orgId: string) {
  const role = await requireOrgPermission(env, actor.userId, orgId, "org:read");
  return publicOrg(await orgRow(env, orgId), role);
}

export async function updateOrg(env: Env, actor: Actor, orgId: string, input: { name: string }) {
  const role = await requireOrgPermission(env, actor.userId, orgId, "org:update");
  const db = database(env);
  const [updated] = await db.batch([
    db.update(orgs).set({ name: input.name, updatedAt: clock.now() }).where(eq(orgs.id, orgId)).returning(),
    auditInsertIfChanged(env, {
      orgId,
      actorId: actor.userId,
      action: "org.updated",
      targetType: "org",
      targetId: orgId,
      details: input,
      requestId: actor.requestId,
    }),
  ]);
  const [org] = updated;
  if (!org) throw new AppError("not_found", "No such organization.");
  return publicOrg(org, role);
}

/**
 * Deletes an org (its owners), unless a guard keeps it; a platform admin may force past the
 * guards that allow it (purchased credits left), audited with what was overridden.
 */
export async function deleteOrg(
  env: Env,
  actor: Actor,
  orgId: string,
  options: { forced: boolean } = { forced: false },
) {
  if (options.forced) {
    const [org] = await database(env).select({ id: orgs.id }).from(orgs).where(eq(orgs.id, orgId));
    if (!org) throw new AppError("not_found", "No such organization.");
  } else {
    await requireOrgPermission(env, actor.userId, orgId, "org:delete");
  }
  const reasons = await reasonsToKeepOrg(env, orgId);
  const [kept] = reasons.filter((reason) => !(options.forced && reason.forcible));
  if (kept) throw new AppError("conflict", `This organization cannot be deleted: ${kept.reason}`);
  const overridden = reasons.map(({ reason }) => reason);
  const db = database(env);
  await env.DB.batch([
    ...orgCleanupStatements(env, orgId),
    asStatement(env, db.delete(orgs).where(eq(orgs.id, orgId))),
    asStatement(
      env,
      auditInsert(env, {
        orgId,
        actorId: actor.userId,
        action: options.forced ? "org.force_deleted" : "org.deleted",
        targetType: "org",
        targetId: orgId,
        ...(options.forced ? { details: { overridden } } : {}),
        requestId: actor.requestId,
      }),
    ),
  ]);
  for (const followUp of orgDeletionFollowUps.get()) await followUp(env, orgId);
}

export async function listMembers(env: Env, actor: Actor, orgId: string, page: { limit: number; cursor?: string }) {
  await requireOrgPermission(env, actor.userId, orgId, "members:read");
  const seek = keyset(page.cursor, memberships.createdAt, memberships.userId, "asc");
  const rows = await database(env)
    .select({
      userId: users.id,
      email: users.email,
      name: users.name,
      role: memberships.role,
      joinedAt: memberships.createdAt,
    })
    .from(memberships)
    .innerJoin(users, eq(users.id, memberships.userId))
    .where(and(eq(memberships.orgId, orgId), seek.after))
    .orderBy(...seek.orderBy)
    .limit(page.limit + 1);
  const { items, nextCursor } = toPage(rows, page.limit, (row) => ({ key: row.joinedAt, id: row.userId }));
  return { items: items.map((row) => ({ ...row, joinedAt: clock.iso(row.joinedAt) })), nextCursor };
}

const lastOwner = () =>
  new AppError("conflict", "An organization keeps at least one owner: make someone else owner first.");

/** SQL: the membership is not an owner, or other owners remain. Evaluated inside the one write. */
const keepsAnOwner = (orgId: string) =>
  sql`(${memberships.role} != 'owner' OR (SELECT count(*) FROM memberships AS m WHERE m.org_id = ${orgId} AND m.role = 'owner') > 1)`;

async function targetRole(env: Env, orgId: string, userId: string): Promise<OrgRole> {
  const [row] = await database(env)
    .select({ role: memberships.role })
    .from(memberships)
    .where(and(eq(memberships.orgId, orgId), eq(memberships.userId, userId)));
  if (!row) throw new AppError("not_found", "No such member.");
  return row.role;
}

/** After a 0-row membership write: gone meanwhile (404), or kept as the last owner (409). */
async function refusedMembershipChange(env: Env, orgId: string, userId: string): Promise<AppError> {
  const role = await membershipRole(env, orgId, userId);
  return role ? lastOwner() : new AppError("not_found", "No such member.");
}

export async function changeMemberRole(env: Env, actor: Actor, orgId: string, userId: string, role: OrgRole) {
  const actorRole = await requireOrgPermission(env, actor.userId, orgId, "members:manage");
  const current = await targetRole(env, orgId, userId);
  if ((current === "owner" || role === "owner") && !can(actorRole, "owners:manage")) {
    throw new AppError("forbidden", "Only owners can make or unmake owners.");
  }
  const db = database(env);
  // One statement decides, so two owners demoting each other cannot leave the org ownerless;
  // the audit entry and the revocation of keys the new role may not hold commit with it.
  const [changed] = await db.batch([
    db
      .update(memberships)
      .set({ role })
      .where(
        and(
          eq(memberships.orgId, orgId),
          eq(memberships.userId, userId),
          role === "owner" ? undefined : keepsAnOwner(orgId),
        ),
      )
      .returning({ userId: memberships.userId }),
    auditInsertIfChanged(env, {
      orgId,
      actorId: actor.userId,
      action: "member.role_changed",
      targetType: "user",
      targetId: userId,
      details: { from: current, to: role },
      requestId: actor.requestId,
    }),
    revokeOrgKeysWithoutRights(env, orgId, userId),
  ]);
  forgetMembership(orgId, userId);
  forgetKeysOf(userId, orgId);
  if (changed.length === 0) throw await refusedMembershipChange(env, orgId, userId);
}

async function deleteMembership(env: Env, actor: Actor, orgId: string, userId: string, action: string) {
  const db = database(env);
  const [removed] = await db.batch([
    db
      .delete(memberships)
      .where(and(eq(memberships.orgId, orgId), eq(memberships.userId, userId), keepsAnOwner(orgId)))
      .returning({ userId: memberships.userId }),
    auditInsertIfChanged(env, {
      orgId,
      actorId: actor.userId,
      action,
      targetType: "user",
      targetId: userId,
      requestId: actor.requestId,
    }),
    revokeOrgKeysWithoutRights(env, orgId, userId),
  ]);
  forgetMembership(orgId, userId);
  forgetKeysOf(userId, orgId);
  if (removed.length === 0) throw await refusedMembershipChange(env, orgId, userId);
}

export async function removeMember(env: Env, actor: Actor, orgId: string, userId: string) {
  const actorRole = await requireOrgPermission(env, actor.userId, orgId, "members:manage");
  const current = await targetRole(env, orgId, userId);
  if (current === "owner" && !can(actorRole, "owners:manage"))
    throw new AppError("forbidden", "Only owners can remove owners.");
  await deleteMembership(env, actor, orgId, userId, "member.removed");
}

export async function leaveOrg(env: Env, actor: Actor, orgId: string) {
  await requireOrgPermission(env, actor.userId, orgId, "org:read");
  await deleteMembership(env, actor, orgId, actor.userId, "member.left");
}
