import { AppError } from "../platform/errors";

/**
 * Who may do what, as data every module reads: the roles a member holds in an org, what each
 * role permits (one helper, `can`, answers every authorization question about an org; owners
 * alone manage owners and delete), and the scopes an API key may carry.
 */

export const ORG_ROLES = ["owner", "admin", "member"] as const;
export type OrgRole = (typeof ORG_ROLES)[number];

const PERMISSIONS = [
  "org:read",
  "org:update",
  "org:delete",
  "members:read",
  "members:manage",
  "owners:manage",
  "invitations:manage",
  "audit:read",
  "api_keys:create",
  "billing:manage",
  /** Change or delete any of the org's shared AI presets (members change their own). */
  "presets:manage",
  /** Rename, delete and share any of the org's files (members do so with those they uploaded). */
  "files:manage",
] as const;
export type Permission = (typeof PERMISSIONS)[number];

const ROLE_PERMISSIONS: Record<OrgRole, readonly Permission[]> = {
  owner: PERMISSIONS,
  admin: [
    "org:read",
    "org:update",
    "members:read",
    "members:manage",
    "invitations:manage",
    "audit:read",
    "api_keys:create",
    "billing:manage",
    "presets:manage",
    "files:manage",
  ],
  member: ["org:read", "members:read"],
};

export function can(role: OrgRole, permission: Permission): boolean {
  return ROLE_PERMISSIONS[role].includes(permission);
}

/** 403 unless the role has the permission. */
export function requireRolePermission(role: OrgRole, permission: Permission): void {
  if (!can(role, permission)) {
    throw new AppError("forbidden", `Your role (${role}) cannot do this: it needs ${permission}.`);
  }
}

/** What an API key may be used for; a route accepts keys only with the scope it declares. */
export const API_KEY_SCOPES = ["ai", "translate", "files:read", "files:write"] as const;
export type ApiKeyScope = (typeof API_KEY_SCOPES)[number];
