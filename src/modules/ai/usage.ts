import { database } from "../../platform/db";
import { aiUsage } from "./tables";

/** Usage rows: one per AI request, written after it settles. */

export type UsageRow = typeof aiUsage.$inferInsert;
export type UsageStatus = UsageRow["status"];

export async function recordUsage(env: Env, row: UsageRow): Promise<void> {
  await database(env).insert(aiUsage).values(row);
}
