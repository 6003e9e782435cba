import { and, eq, getTableColumns, sql } from "drizzle-orm";
import { accountCan } from "../../../middleware/tenancy";
import { clock } from "../../../platform/clock";
import type { Account } from "../../../platform/context";
import { database } from "../../../platform/db";
import { AppError } from "../../../platform/errors";
import { newId } from "../../../platform/ids";
import { keyset, toPage } from "../../../platform/pagination";
import { aiPresets, type PresetVisibility } from "../tables";

/**
 * Presets belong to one account, the request's: the caller's private presets, or an org's
 * shared ones. Another account's preset does not exist for the caller (404).
 */

const MAX_PRESETS_PER_OWNER = 500;

export type Caller = { userId: string; account: Account };

type PresetRow = typeof aiPresets.$inferSelect;
type Fields = Pick<PresetRow, "name" | "category" | "systemPrompt" | "model" | "parameters">;

const publicPreset = (row: PresetRow) => ({
  id: row.id,
  name: row.name,
  category: row.category,
  systemPrompt: row.systemPrompt,
  model: row.model,
  parameters: row.parameters,
  visibility: row.visibility,
  orgId: row.visibility === "org" ? row.ownerId : null,
  createdBy: row.createdBy,
  createdAt: clock.iso(row.createdAt),
  updatedAt: clock.iso(row.updatedAt),
});

export async function createPreset(
  env: Env,
  caller: Caller,
  input: Fields & { visibility?: PresetVisibility | undefined },
) {
  const { account } = caller;
  const visibility = input.visibility ?? (account.type === "org" ? "org" : "private");
  if ((visibility === "org") !== (account.type === "org")) {
    throw new AppError(
      "validation_failed",
      visibility === "org"
        ? "An org preset needs the org: send X-Stratus-Org."
        : "A private preset is the caller's own: send it without X-Stratus-Org.",
      { errors: [{ path: "body.visibility", message: "does not match the request's account" }] },
    );
  }
  const now = clock.now();
  const { visibility: _visibility, ...fields } = input;
  const row: PresetRow = {
    ...fields,
    id: newId("prs", now),
    ownerId: account.id,
    visibility,
    createdBy: caller.userId,
    createdAt: now,
    updatedAt: now,
  };
  // One statement counts and inserts, so concurrent creations cannot pass the limit together.
  const columns = getTableColumns(aiPresets);
  const values = sql.join(
    (Object.keys(columns) as (keyof PresetRow)[]).map((key) => sql.param(row[key], columns[key])),
    sql`, `,
  );
  const inserted = await database(env)
    .insert(aiPresets)
    .select(
      sql`SELECT ${values} WHERE (SELECT count(*) FROM ${aiPresets} WHERE ${aiPresets.ownerId} = ${account.id}) < ${MAX_PRESETS_PER_OWNER}`,
    )
    .returning({ id: aiPresets.id });
  if (inserted.length === 0) {
    throw new AppError(
      "conflict",
      `This account already has ${MAX_PRESETS_PER_OWNER} presets, the most it may keep: delete some first.`,
    );
  }
  return publicPreset(row);
}

export async function listPresets(
  env: Env,
  account: Account,
  query: { limit: number; cursor?: string; category?: string },
) {
  const seek = keyset(query.cursor, aiPresets.createdAt, aiPresets.id, "desc");
  const rows = await database(env)
    .select()
    .from(aiPresets)
    .where(
      and(
        eq(aiPresets.ownerId, account.id),
        query.category === undefined ? undefined : eq(aiPresets.category, query.category),
        seek.after,
      ),
    )
    .orderBy(...seek.orderBy)
    .limit(query.limit + 1);
  const { items, nextCursor } = toPage(rows, query.limit, (row) => ({ key: row.createdAt, id: row.id }));
  return { items: items.map(publicPreset), nextCursor };
}

const ofAccount = (account: Account, id: string) => and(eq(aiPresets.id, id), eq(aiPresets.ownerId, account.id));

async function presetRow(env: Env, account: Account, id: string): Promise<PresetRow> {
  const [row] = await database(env).select().from(aiPresets).where(ofAccount(account, id));
  if (!row) throw new AppError("not_found", "No such preset.");
  return row;
}

export const getPreset = async (env: Env, account: Account, id: string) =>
  publicPreset(await presetRow(env, account, id));

/** The preset, when the caller may change it: their own, or any of an org's with `presets:manage`. */
async function changeablePreset(env: Env, caller: Caller, id: string): Promise<PresetRow> {
  const row = await presetRow(env, caller.account, id);
  const { account } = caller;
  if (account.type === "org" && row.createdBy !== caller.userId && !accountCan(account, "presets:manage")) {
    throw new AppError("forbidden", `Your role (${account.role}) changes only the presets you created.`);
  }
  return row;
}

export async function updatePreset(env: Env, caller: Caller, id: string, input: Partial<Fields>) {
  await changeablePreset(env, caller, id);
  const [row] = await database(env)
    .update(aiPresets)
    .set({ ...input, updatedAt: clock.now() })
    .where(ofAccount(caller.account, id))
    .returning();
  if (!row) throw new AppError("not_found", "No such preset.");
  return publicPreset(row);
}

export async function deletePreset(env: Env, caller: Caller, id: string) {
  await changeablePreset(env, caller, id);
  await database(env).delete(aiPresets).where(ofAccount(caller.account, id));
}
