import { and, eq, sql } from "drizzle-orm";
import { clock } from "../../platform/clock";
import { database } from "../../platform/db";
import { newId } from "../../platform/ids";
import { keyset, toPage } from "../../platform/pagination";
import { auditLog } from "./tables";

/** The audit log: append-only records of who changed roles, members, invitations, keys, users. */

export type AuditEntry = {
  orgId?: string | null;
  actorId: string;
  action: string;
  targetType: string;
  targetId: string;
  details?: Record<string, unknown>;
  requestId?: string;
};

function auditRow(entry: AuditEntry) {
  const now = clock.now();
  return {
    id: newId("aud", now),
    orgId: entry.orgId ?? null,
    actorId: entry.actorId,
    action: entry.action,
    targetType: entry.targetType,
    targetId: entry.targetId,
    details: JSON.stringify(entry.details ?? {}),
    requestId: entry.requestId ?? null,
    createdAt: now,
  };
}

/** The insert, for a caller that batches it with the change it records. */
export function auditInsert(env: Env, entry: AuditEntry) {
  return database(env).insert(auditLog).values(auditRow(entry));
}

/**
 * The insert, written only if the statement just before it in the batch changed a row
 * (SQLite's changes()): a conditional update and its audit entry commit together or not at all.
 */
export function auditInsertIfChanged(env: Env, entry: AuditEntry) {
  const row = auditRow(entry);
  return database(env)
    .insert(auditLog)
    .select(
      sql`SELECT ${row.id}, ${row.orgId}, ${row.actorId}, ${row.action}, ${row.targetType}, ${row.targetId}, ${row.details}, ${row.requestId}, ${row.createdAt} WHERE changes() > 0`,
    );
}

export async function listAudit(env: Env, filter: { orgId?: string }, page: { limit: number; cursor?: string }) {
  const seek = keyset(page.cursor, auditLog.createdAt, auditLog.id, "desc");
  const rows = await database(env)
    .select()
    .from(auditLog)
    .where(and(filter.orgId ? eq(auditLog.orgId, filter.orgId) : undefined, seek.after))
    .orderBy(...seek.orderBy)
    .limit(page.limit + 1);
  const { items, nextCursor } = toPage(rows, page.limit, (row) => ({ key: row.createdAt, id: row.id }));
  return {
    items: items.map((row) => ({
      id: row.id,
      orgId: row.orgId,
      actorId: row.actorId,
      action: row.action,
      targetType: row.targetType,
      targetId: row.targetId,
      details: JSON.parse(row.details) as Record<string, unknown>,
      requestId: row.requestId,
      createdAt: clock.iso(row.createdAt),
    })),
    nextCursor,
  };
}
