import { and, eq, sql } from "drizzle-orm";
import { clock } from "../../../platform/clock";
import type { Actor } from "../../../platform/context";
import { database } from "../../../platform/db";
import { AppError } from "../../../platform/errors";
import { keyset, toPage } from "../../../platform/pagination";
import { forgetKeysOf } from "../api-keys/service";
import { auditInsertIfChanged } from "../audit";
import { publicUser } from "../service";
import { forgetUser } from "../session-cache";
import { revokeUserSessions } from "../sessions";
import { users } from "../tables";

/** Platform administration of users. Callers are platform admins signed in with a session. */

/** `%` and `_` in a prefix match themselves, not any character. */
const likePrefix = (prefix: string) => `${prefix.replace(/[\\%_]/g, (char) => `\\${char}`)}%`;

export async function listUsers(
  env: Env,
  filter: { emailPrefix?: string; role?: "user" | "admin" },
  page: { limit: number; cursor?: string },
) {
  const seek = keyset(page.cursor, users.createdAt, users.id, "asc");
  const rows = await database(env)
    .select()
    .from(users)
    .where(
      and(
        filter.emailPrefix ? sql`${users.email} LIKE ${likePrefix(filter.emailPrefix)} ESCAPE '\\'` : undefined,
        filter.role ? eq(users.role, filter.role) : undefined,
        seek.after,
      ),
    )
    .orderBy(...seek.orderBy)
    .limit(page.limit + 1);
  const { items, nextCursor } = toPage(rows, page.limit, (row) => ({ key: row.createdAt, id: row.id }));
  return {
    items: items.map((row) => ({ ...publicUser(row), disabled: row.disabledAt !== null })),
    nextCursor,
  };
}

/** Changes a user's platform role or disables them; disabling ends every session at once. */
export async function updateUser(
  env: Env,
  actor: Actor,
  userId: string,
  changes: { role?: "user" | "admin"; disabled?: boolean },
) {
  if (userId === actor.userId)
    throw new AppError("conflict", "Admins cannot change or disable their own account here.");
  const now = clock.now();
  const db = database(env);
  const [updated] = await db.batch([
    db
      .update(users)
      .set({
        ...(changes.role ? { role: changes.role } : {}),
        ...(changes.disabled === undefined ? {} : { disabledAt: changes.disabled ? now : null }),
        updatedAt: now,
      })
      .where(eq(users.id, userId))
      .returning(),
    auditInsertIfChanged(env, {
      actorId: actor.userId,
      action: "admin.user_updated",
      targetType: "user",
      targetId: userId,
      details: changes,
      requestId: actor.requestId,
    }),
  ]);
  const [user] = updated;
  if (!user) throw new AppError("not_found", "No such user.");
  forgetUser(userId);
  forgetKeysOf(userId);
  if (changes.disabled) await revokeUserSessions(env, userId, "disabled_by_admin");
  return { ...publicUser(user), disabled: user.disabledAt !== null };
}
