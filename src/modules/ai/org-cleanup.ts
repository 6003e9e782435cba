import { eq, inArray } from "drizzle-orm";
import { asStatement, type BatchStatement, database } from "../../platform/db";
import { aiConversations, aiMessages, aiPresets } from "./tables";

/**
 * What a deleted org takes along from ai, in the deletion's batch: its shared presets and the
 * conversations billed to it, with their messages. Its usage rows stay: they are billing
 * records, and the retention cron deletes them in time.
 */
export function deleteOrgRows(env: Env, orgId: string): BatchStatement[] {
  const db = database(env);
  const conversationsOfOrg = db
    .select({ id: aiConversations.id })
    .from(aiConversations)
    .where(eq(aiConversations.accountId, orgId));
  return [
    asStatement(env, db.delete(aiMessages).where(inArray(aiMessages.conversationId, conversationsOfOrg))),
    asStatement(env, db.delete(aiConversations).where(eq(aiConversations.accountId, orgId))),
    asStatement(env, db.delete(aiPresets).where(eq(aiPresets.ownerId, orgId))),
  ];
}
