import type { BatchStatement } from "../../../platform/db";
import { port } from "../../../platform/port";

/**
 * What other modules say about deleting an organization, wired by the composition root. A
 * guard answers a reason to refuse, or null: billing's, while a subscription is live (never
 * overridden) or while the org's wallet still holds purchased credits (`forcible`: a platform
 * admin may delete it anyway). A cleanup answers the statements that delete or mark the
 * module's own rows of the org (shared AI presets, conversations, the wallet's copy); they run
 * in the deletion's batch, so the org never half-goes. A follow-up runs once the org is gone
 * (billing deletes the org's wallet storage).
 */
export type OrgDeletionGuard = (env: Env, orgId: string) => Promise<{ reason: string; forcible: boolean } | null>;
export type OrgDeletionCleanup = (env: Env, orgId: string) => BatchStatement[];
export type OrgDeletionFollowUp = (env: Env, orgId: string) => Promise<void>;

export const orgDeletionGuards = port<readonly OrgDeletionGuard[]>("identity: the org deletion guards");
export const orgDeletionCleanups = port<readonly OrgDeletionCleanup[]>("identity: the org deletion cleanups");
export const orgDeletionFollowUps = port<readonly OrgDeletionFollowUp[]>("identity: the org deletion follow-ups");

/** What every guard says about deleting the org. */
export async function reasonsToKeepOrg(env: Env, orgId: string): Promise<{ reason: string; forcible: boolean }[]> {
  const answers = await Promise.all(orgDeletionGuards.get().map((guard) => guard(env, orgId)));
  return answers.flatMap((answer) => (answer ? [answer] : []));
}

/** Every cleanup's statements for the org. */
export const orgCleanupStatements = (env: Env, orgId: string) =>
  orgDeletionCleanups.get().flatMap((cleanup) => cleanup(env, orgId));
