/**
 * What other modules register about deleting an organization, at module load from their own
 * code. A guard answers a reason to refuse (billing, while a subscription is live), or null.
 * A cleanup answers the statements that delete the module's own rows of the org (shared AI
 * presets, conversations); they run in the deletion's batch, so the org never half-goes.
 */
export type OrgDeletionGuard = (env: Env, orgId: string) => Promise<string | null>;

const guards: OrgDeletionGuard[] = [];

/** Registers a guard; the answer unregisters it (for tests and hot reloads). */
export function registerOrgDeletionGuard(guard: OrgDeletionGuard): () => void {
  guards.push(guard);
  return () => {
    const index = guards.indexOf(guard);
    if (index >= 0) guards.splice(index, 1);
  };
}

/** The first reason a registered guard gives to keep the org, or null. */
export async function reasonToKeepOrg(env: Env, orgId: string): Promise<string | null> {
  for (const guard of guards) {
    const reason = await guard(env, orgId);
    if (reason) return reason;
  }
  return null;
}

export type OrgDeletionCleanup = (env: Env, orgId: string) => D1PreparedStatement[];

const cleanups: OrgDeletionCleanup[] = [];

/** Registers a cleanup; the answer unregisters it. */
export function registerOrgDeletionCleanup(cleanup: OrgDeletionCleanup): () => void {
  cleanups.push(cleanup);
  return () => {
    const index = cleanups.indexOf(cleanup);
    if (index >= 0) cleanups.splice(index, 1);
  };
}

/** Every registered cleanup's statements for the org. */
export const orgCleanupStatements = (env: Env, orgId: string) => cleanups.flatMap((cleanup) => cleanup(env, orgId));
