/**
 * identity's face: what other modules may use of it, and the only file they import.
 * What authentication asks of it, the accounts and their contacts, the audit log, and the
 * ports through which other modules take part in deleting an org.
 */

/** The audit-log insert, for other modules to batch with the change they record. */
export { auditInsert, auditInsertIfChanged } from "./audit";
/** What the platform's authentication (src/middleware/auth.ts) asks identity, through its port. */
export { authenticator } from "./authenticator";
export { identityConfig } from "./config";
/** What other modules say about deleting an org: guards that refuse, cleanups in its batch. */
export {
  type OrgDeletionCleanup,
  type OrgDeletionFollowUp,
  type OrgDeletionGuard,
  orgDeletionCleanups,
  orgDeletionFollowUps,
  orgDeletionGuards,
} from "./orgs/guards";
export { accountExists, billingContactsOf, isVerifiedUser } from "./service";
