/**
 * Guards other modules register against deleting an organization (billing refuses while a
 * subscription is live). A guard answers a reason to refuse, or null. Registered at module
 * load, from the guarding module's own code: `registerOrgDeletionGuard(…)`.
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
