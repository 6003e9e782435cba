import { and, eq } from "drizzle-orm";
import { database } from "../../../platform/db";
import { AppError } from "../../../platform/errors";
import { memberships, type OrgRole } from "../tables";
import { type Permission, requireRolePermission } from "./roles";

/**
 * Tenancy, in one place: an org the caller does not belong to does not exist for them (404),
 * whatever the resource; a member without the permission gets 403.
 */
export async function membershipRole(env: Env, orgId: string, userId: string): Promise<OrgRole | null> {
  const [row] = await database(env)
    .select({ role: memberships.role })
    .from(memberships)
    .where(and(eq(memberships.orgId, orgId), eq(memberships.userId, userId)));
  return row?.role ?? null;
}

export async function requireOrgPermission(env: Env, userId: string, orgId: string, permission: Permission) {
  const role = await membershipRole(env, orgId, userId);
  if (!role) throw new AppError("not_found", "No such organization.");
  requireRolePermission(role, permission);
  return role;
}
