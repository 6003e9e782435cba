import type { Context } from "hono";
import type { Account, AppEnv } from "../platform/context";
import { AppError } from "../platform/errors";
import { accountOf, authenticatorPort } from "./auth";
import { can, type OrgRole, type Permission, requireRolePermission } from "./permissions";

/**
 * Tenancy, in one place: an org the caller does not belong to does not exist for them (404),
 * whatever the resource; a member without the permission gets 403. A caller always may on
 * their own account.
 */

/** Whether the caller may do `permission` on `account`: always on their own, by their role on an org's. */
export const accountCan = (account: Account, permission: Permission) =>
  account.type === "user" || can(account.role as OrgRole, permission);

/**
 * The request's account when the caller may do `permission` there: always on their own
 * account, by their role on an org's (403 otherwise).
 */
export function accountPermitting(c: Context<AppEnv>, permission: Permission): Account {
  const account = accountOf(c);
  if (account.type === "org") requireRolePermission(account.role as OrgRole, permission);
  return account;
}

/** The caller's current role in an org that it names by id, when it permits `permission`: 404 for non-members, 403 without it. */
export async function requireOrgPermission(
  env: Env,
  userId: string,
  orgId: string,
  permission: Permission,
): Promise<OrgRole> {
  const role = await authenticatorPort.get().roleIn(env, orgId, userId, "fresh");
  if (!role) throw new AppError("not_found", "No such organization.");
  requireRolePermission(role, permission);
  return role;
}
