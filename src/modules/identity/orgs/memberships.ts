import { and, eq } from "drizzle-orm";
import type { OrgRole } from "../../../middleware/permissions";
import { database } from "../../../platform/db";
import { memberships } from "../tables";

/** The user's current role in the org, or null when not a member (read now, never cached). */
export async function membershipRole(env: Env, orgId: string, userId: string): Promise<OrgRole | null> {
  const [row] = await database(env)
    .select({ role: memberships.role })
    .from(memberships)
    .where(and(eq(memberships.orgId, orgId), eq(memberships.userId, userId)));
  return row?.role ?? null;
}
