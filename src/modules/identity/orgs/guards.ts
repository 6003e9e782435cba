import type { BatchStatement } from "../../../platform/db";
import { port } from "../../../platform/port";

/**
 * What other modules say about deleting an organization, wired by the composition root. A
 * guard answers a reason to refuse (billing, while a subscription is live), or null. A cleanup
 * answers the statements that delete the module's own rows of the org (shared AI presets,
 * conversations); they run in the deletion's batch, so the org never half-goes.
 */
export type OrgDeletionGuard = (env: Env, orgId: string) => Promise<string | null>;
export type OrgDeletionCleanup = (env: Env, orgId: string) => BatchStatement[];

export const orgDeletionGuards = port<readonly OrgDeletionGuard[]>("identity: the org deletion guards");
export const orgDeletionCleanups = port<readonly OrgDeletionCleanup[]>("identity: the org deletion cleanups");

/** The first reason a guard gives to keep the org, or null. */
export async function reasonToKeepOrg(env: Env, orgId: string): Promise<string | null> {
  for (const guard of orgDeletionGuards.get()) {
    const reason = await guard(env, orgId);
    if (reason) return reason;
  }
  return null;
}

/** Every cleanup's statements for the org. */
export const orgCleanupStatements = (env: Env, orgId: string) =>
  orgDeletionCleanups.get().flatMap((cleanup) => cleanup(env, orgId));
