/**
 * identity's face: what other modules may use of it, and the only file they import.
 * Authentication and tenancy of routes, the accounts and their contacts, the audit log, and
 * the ports through which other modules take part in deleting an org.
 */

/** The audit-log insert, for other modules to batch with the change they record. */
export { auditInsert, auditInsertIfChanged } from "./audit";
export { accountCan, accountOf, accountPermitting, actorOf, authRoute, principalOf } from "./auth";
/** What other modules say about deleting an org: guards that refuse, cleanups in its batch. */
export { type OrgDeletionCleanup, type OrgDeletionGuard, orgDeletionCleanups, orgDeletionGuards } from "./orgs/guards";
/** Tenancy for other modules' org routes: 404 for non-members, 403 without the permission. */
export { requireOrgPermission } from "./orgs/tenancy";
export { accountExists, billingContactsOf, verifiedUserIds } from "./service";
