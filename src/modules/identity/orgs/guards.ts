/**
 * What other modules register about deleting an organization, at module load from their own
 * code. A guard answers a reason to refuse (billing, while a subscription is live), or null.
 * A cleanup answers the statements that delete the module's own rows of the org (shared AI
 * presets, conversations); they run in the deletion's batch, so the org never half-goes.
 */
export type OrgDeletionGuard = (env: Env, orgId: string) => Promise<string | null>;
export type OrgDeletionCleanup = (env: Env, orgId: string) => D1PreparedStatement[];

/** A list of hooks; registering answers the function that unregisters (for tests and hot reloads). */
function hooks<T>() {
  const registered: T[] = [];
  const register = (hook: T): (() => void) => {
    registered.push(hook);
    return () => {
      const index = registered.indexOf(hook);
      if (index >= 0) registered.splice(index, 1);
    };
  };
  return { registered, register };
}

const guards = hooks<OrgDeletionGuard>();
const cleanups = hooks<OrgDeletionCleanup>();

export const registerOrgDeletionGuard = guards.register;
export const registerOrgDeletionCleanup = cleanups.register;

/** The first reason a registered guard gives to keep the org, or null. */
export async function reasonToKeepOrg(env: Env, orgId: string): Promise<string | null> {
  for (const guard of guards.registered) {
    const reason = await guard(env, orgId);
    if (reason) return reason;
  }
  return null;
}

/** Every registered cleanup's statements for the org. */
export const orgCleanupStatements = (env: Env, orgId: string) =>
  cleanups.registered.flatMap((cleanup) => cleanup(env, orgId));
