import { and, eq, gt, inArray, isNull, lt, notExists, or, sql } from "drizzle-orm";
import { type ApiKeyScope, can, ORG_ROLES } from "../../../middleware/permissions";
import { requireOrgPermission } from "../../../middleware/tenancy";
import { clock } from "../../../platform/clock";
import type { Actor } from "../../../platform/context";
import { randomToken, sha256Hex } from "../../../platform/crypto";
import { database } from "../../../platform/db";
import { AppError } from "../../../platform/errors";
import { newId } from "../../../platform/ids";
import { keyset, toPage } from "../../../platform/pagination";
import { TtlCache } from "../../../platform/ttl-cache";
import { auditInsert, auditInsertIfChanged } from "../audit";
import { cachedMembershipRole, FRESHNESS_MS, LAST_USED_RESOLUTION_MS } from "../session-cache";
import { apiKeys, memberships, users } from "../tables";

/**
 * API keys: `sk_` and 256 random bits, shown once. Looking one up is a hash, a cached D1 read
 * (≤ 30 s) and, for an org key, the creator's current membership. `last_used_at` is written
 * at most every LAST_USED_RESOLUTION_MS per key, never on every request.
 */

export const KEY_PREFIX = "sk_";
const VISIBLE_PREFIX_LENGTH = 11;

type KeyRow = typeof apiKeys.$inferSelect;

const publicKey = (row: KeyRow) => ({
  id: row.id,
  name: row.name,
  prefix: row.prefix,
  scopes: JSON.parse(row.scopes) as ApiKeyScope[],
  orgId: row.orgId,
  expiresAt: row.expiresAt === null ? null : clock.iso(row.expiresAt),
  monthlyCreditBudget: row.monthlyCreditBudget,
  lastUsedAt: row.lastUsedAt === null ? null : clock.iso(row.lastUsedAt),
  createdAt: clock.iso(row.createdAt),
});

export async function createApiKey(
  env: Env,
  actor: Actor,
  input: { name: string; scopes: ApiKeyScope[]; orgId?: string; expiresAt?: string; monthlyCreditBudget?: number },
) {
  if (input.orgId) await requireOrgPermission(env, actor.userId, input.orgId, "api_keys:create");
  const now = clock.now();
  const expiresAt = input.expiresAt ? Date.parse(input.expiresAt) : null;
  if (expiresAt !== null && expiresAt <= now) {
    throw new AppError("validation_failed", "The expiry must be in the future.", {
      errors: [{ path: "body.expiresAt", message: "must be in the future" }],
    });
  }
  const secret = `${KEY_PREFIX}${randomToken()}`;
  const row: KeyRow = {
    id: newId("key", now),
    userId: actor.userId,
    orgId: input.orgId ?? null,
    name: input.name,
    prefix: secret.slice(0, VISIBLE_PREFIX_LENGTH),
    keyHash: await sha256Hex(secret),
    scopes: JSON.stringify([...new Set(input.scopes)]),
    expiresAt,
    monthlyCreditBudget: input.monthlyCreditBudget ?? null,
    lastUsedAt: null,
    revokedAt: null,
    createdAt: now,
  };
  const db = database(env);
  await db.batch([
    db.insert(apiKeys).values(row),
    auditInsert(env, {
      orgId: row.orgId,
      actorId: actor.userId,
      action: "api_key.created",
      targetType: "api_key",
      targetId: row.id,
      details: { name: row.name, scopes: JSON.parse(row.scopes) },
      requestId: actor.requestId,
    }),
  ]);
  return { apiKey: publicKey(row), secret };
}

export async function listApiKeys(env: Env, userId: string, page: { limit: number; cursor?: string }) {
  const seek = keyset(page.cursor, apiKeys.createdAt, apiKeys.id, "desc");
  const rows = await database(env)
    .select()
    .from(apiKeys)
    .where(
      and(
        eq(apiKeys.userId, userId),
        isNull(apiKeys.revokedAt),
        or(isNull(apiKeys.expiresAt), gt(apiKeys.expiresAt, clock.now())),
        seek.after,
      ),
    )
    .orderBy(...seek.orderBy)
    .limit(page.limit + 1);
  const { items, nextCursor } = toPage(rows, page.limit, (row) => ({ key: row.createdAt, id: row.id }));
  return { items: items.map(publicKey), nextCursor };
}

export async function revokeApiKey(env: Env, actor: Actor, keyId: string) {
  const db = database(env);
  const [row] = await db
    .select()
    .from(apiKeys)
    .where(and(eq(apiKeys.id, keyId), eq(apiKeys.userId, actor.userId)));
  if (!row || row.revokedAt !== null) throw new AppError("not_found", "No such API key.");
  await db.batch([
    db
      .update(apiKeys)
      .set({ revokedAt: clock.now() })
      .where(and(eq(apiKeys.id, keyId), isNull(apiKeys.revokedAt))),
    auditInsertIfChanged(env, {
      orgId: row.orgId,
      actorId: actor.userId,
      action: "api_key.revoked",
      targetType: "api_key",
      targetId: row.id,
      requestId: actor.requestId,
    }),
  ]);
  keyCache.delete(row.keyHash);
}

type KeyState =
  | { active: false }
  | {
      active: true;
      keyId: string;
      userId: string;
      orgId: string | null;
      scopes: string[];
      expiresAt: number | null;
      monthlyCreditBudget: number | null;
      lastUsedAt: number | null;
    };

const keyCache = new TtlCache<KeyState>(FRESHNESS_MS);

/** The key's current state, by secret; an org key whose creator left the org is inactive. */
export async function apiKeyState(env: Env, secret: string): Promise<{ hash: string; state: KeyState }> {
  const hash = await sha256Hex(secret);
  const state = await keyCache.getOrLoad(hash, async (): Promise<KeyState> => {
    const [row] = await database(env)
      .select({ key: apiKeys })
      .from(apiKeys)
      .innerJoin(users, eq(users.id, apiKeys.userId))
      .where(and(eq(apiKeys.keyHash, hash), isNull(apiKeys.revokedAt), isNull(users.disabledAt)));
    if (!row) return { active: false };
    const { key } = row;
    return {
      active: true,
      keyId: key.id,
      userId: key.userId,
      orgId: key.orgId,
      scopes: JSON.parse(key.scopes) as string[],
      expiresAt: key.expiresAt,
      monthlyCreditBudget: key.monthlyCreditBudget,
      lastUsedAt: key.lastUsedAt,
    };
  });
  if (!state.active) return { hash, state };
  if (state.expiresAt !== null && state.expiresAt <= clock.now()) return { hash, state: { active: false } };
  if (state.orgId) {
    const role = await cachedMembershipRole(env, state.orgId, state.userId);
    if (!role || !can(role, "api_keys:create")) return { hash, state: { active: false } };
  }
  return { hash, state };
}

/** Records use when the stored time is older than the resolution; the caller runs it in waitUntil. */
export async function touchApiKey(env: Env, hash: string, state: Extract<KeyState, { active: true }>) {
  const now = clock.now();
  if (state.lastUsedAt !== null && now - state.lastUsedAt < LAST_USED_RESOLUTION_MS) return;
  state.lastUsedAt = now;
  keyCache.set(hash, state);
  await database(env)
    .update(apiKeys)
    .set({ lastUsedAt: now })
    .where(
      and(
        eq(apiKeys.id, state.keyId),
        or(isNull(apiKeys.lastUsedAt), lt(apiKeys.lastUsedAt, now - LAST_USED_RESOLUTION_MS)),
      ),
    );
}

/** Roles whose members may hold org keys: a key outlives neither the membership nor the right. */
const KEY_HOLDING_ROLES = ORG_ROLES.filter((role) => can(role, "api_keys:create"));

/**
 * For a batch right after a membership change: revokes the user's keys for the org unless
 * their membership (as it now stands) still allows org keys, so leaving and rejoining never
 * revives an old key.
 */
export function revokeOrgKeysWithoutRights(env: Env, orgId: string, userId: string) {
  return database(env)
    .update(apiKeys)
    .set({ revokedAt: clock.now() })
    .where(
      and(
        eq(apiKeys.orgId, orgId),
        eq(apiKeys.userId, userId),
        isNull(apiKeys.revokedAt),
        notExists(
          database(env)
            .select({ one: sql`1` })
            .from(memberships)
            .where(
              and(
                eq(memberships.orgId, orgId),
                eq(memberships.userId, userId),
                inArray(memberships.role, KEY_HOLDING_ROLES),
              ),
            ),
        ),
      ),
    );
}

/** Drops this isolate's cached state of the user's keys (all, or one org's). */
export function forgetKeysOf(userId: string, orgId?: string): void {
  keyCache.deleteWhere(
    (state) => state.active && state.userId === userId && (orgId === undefined || state.orgId === orgId),
  );
}
