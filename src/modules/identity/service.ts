import { and, eq, gt, isNotNull, isNull } from "drizzle-orm";
import type { Config } from "../../env";
import { clock } from "../../platform/clock";
import { database, isUniqueViolation } from "../../platform/db";
import { AppError } from "../../platform/errors";
import { newId } from "../../platform/ids";
import { keyset, toPage } from "../../platform/pagination";
import { sendVerification, voidResetLinks } from "./email-flows";
import { requireAcceptablePassword } from "./password-policy";
import { hashPassword, spendOneDerivation, verifyPassword } from "./passwords";
import { cachedUser, forgetUser } from "./session-cache";
import { type ClientInfo, revokeSession, revokeUserSessions, startSession } from "./sessions";
import { memberships, orgs, sessions, users } from "./tables";

/** Accounts: registration, sign-in, the caller's own profile, password and sessions. */

type UserRow = typeof users.$inferSelect;

export function publicUser(user: UserRow) {
  return {
    id: user.id,
    email: user.email,
    emailVerified: user.emailVerifiedAt !== null,
    name: user.name,
    locale: user.locale,
    timezone: user.timezone,
    preferences: JSON.parse(user.preferences) as Record<string, unknown>,
    role: user.role,
    createdAt: clock.iso(user.createdAt),
  };
}

export async function register(
  env: Env,
  config: Config,
  input: { email: string; password: string; name: string },
  client: ClientInfo,
) {
  requireAcceptablePassword(input.password, "body.password");
  const now = clock.now();
  const user: UserRow = {
    id: newId("usr", now),
    email: input.email,
    emailVerifiedAt: null,
    passwordHash: await hashPassword(input.password),
    name: input.name,
    locale: null,
    timezone: null,
    preferences: "{}",
    role: "user",
    disabledAt: null,
    createdAt: now,
    updatedAt: now,
  };
  try {
    await database(env).insert(users).values(user);
  } catch (error) {
    if (isUniqueViolation(error)) throw new AppError("conflict", "An account with this email already exists.");
    throw error;
  }
  await sendVerification({ env, config }, user);
  const tokens = await startSession(env, config, user.id, client);
  return { user: publicUser(user), tokens };
}

const invalidCredentials = () => new AppError("invalid_credentials", "The email or password is wrong.");

export async function login(env: Env, config: Config, input: { email: string; password: string }, client: ClientInfo) {
  const db = database(env);
  const [user] = await db.select().from(users).where(eq(users.email, input.email));
  if (!user) {
    await spendOneDerivation(input.password);
    throw invalidCredentials();
  }
  const check = await verifyPassword(input.password, user.passwordHash);
  if (!check.valid || user.disabledAt !== null) throw invalidCredentials();
  if (check.needsRehash) {
    await db
      .update(users)
      .set({ passwordHash: await hashPassword(input.password), updatedAt: clock.now() })
      .where(eq(users.id, user.id));
  }
  return { user: publicUser(user), tokens: await startSession(env, config, user.id, client) };
}

async function userById(env: Env, userId: string): Promise<UserRow> {
  const [user] = await database(env).select().from(users).where(eq(users.id, userId));
  if (!user) throw new AppError("not_found", "No such user.");
  return user;
}

/** The caller's profile, from the session's cached user row (≤ 30 s; fresh after own writes). */
export async function getMe(env: Env, userId: string) {
  return publicUser(await cachedUser(env, userId));
}

export async function updateMe(
  env: Env,
  userId: string,
  changes: { name?: string; locale?: string | null; timezone?: string | null; preferences?: Record<string, unknown> },
) {
  const { preferences, ...rest } = changes;
  const [user] = await database(env)
    .update(users)
    .set({
      ...rest,
      ...(preferences === undefined ? {} : { preferences: JSON.stringify(preferences) }),
      updatedAt: clock.now(),
    })
    .where(eq(users.id, userId))
    .returning();
  if (!user) throw new AppError("not_found", "No such user.");
  forgetUser(userId);
  return publicUser(user);
}

/** Changes the password after checking the current one; every other session ends. */
export async function changePassword(
  env: Env,
  principal: { id: string; sessionId?: string },
  input: { currentPassword: string; newPassword: string },
) {
  const user = await userById(env, principal.id);
  const check = await verifyPassword(input.currentPassword, user.passwordHash);
  if (!check.valid) {
    throw new AppError("validation_failed", "The current password is wrong.", {
      errors: [{ path: "body.currentPassword", message: "is wrong" }],
    });
  }
  requireAcceptablePassword(input.newPassword, "body.newPassword");
  await database(env)
    .update(users)
    .set({ passwordHash: await hashPassword(input.newPassword), updatedAt: clock.now() })
    .where(eq(users.id, user.id));
  await revokeUserSessions(env, user.id, "password_changed", principal.sessionId);
  await voidResetLinks(env, user.id);
}

export async function listSessions(
  env: Env,
  principal: { id: string; sessionId?: string },
  page: { limit: number; cursor?: string },
) {
  const seek = keyset(page.cursor, sessions.createdAt, sessions.id, "desc");
  const now = clock.now();
  const rows = await database(env)
    .select()
    .from(sessions)
    .where(and(eq(sessions.userId, principal.id), isNull(sessions.revokedAt), gt(sessions.expiresAt, now), seek.after))
    .orderBy(...seek.orderBy)
    .limit(page.limit + 1);
  const { items, nextCursor } = toPage(rows, page.limit, (row) => ({ key: row.createdAt, id: row.id }));
  return {
    items: items.map((row) => ({
      id: row.id,
      userAgent: row.userAgent,
      ip: row.ip,
      createdAt: clock.iso(row.createdAt),
      lastUsedAt: clock.iso(row.lastUsedAt),
      current: row.id === principal.sessionId,
    })),
    nextCursor,
  };
}

/** Ends one of the caller's sessions; another user's session answers 404. */
export async function endSession(env: Env, userId: string, sessionId: string) {
  const [row] = await database(env)
    .select({ id: sessions.id })
    .from(sessions)
    .where(and(eq(sessions.id, sessionId), eq(sessions.userId, userId), isNull(sessions.revokedAt)));
  if (!row) throw new AppError("not_found", "No such session.");
  await revokeSession(env, sessionId, "ended_by_user");
}

/** Whether a billing account (a user `usr_…` or an org `org_…`) exists; for other modules. */
export async function accountExists(env: Env, accountId: string): Promise<boolean> {
  const db = database(env);
  if (accountId.startsWith("usr_")) {
    return (await db.select({ id: users.id }).from(users).where(eq(users.id, accountId))).length > 0;
  }
  if (accountId.startsWith("org_")) {
    return (await db.select({ id: orgs.id }).from(orgs).where(eq(orgs.id, accountId))).length > 0;
  }
  return false;
}

/** Who hears about an account's billing: the user, or an org's owners (verified or not). */
export async function billingContactsOf(env: Env, accountId: string): Promise<{ email: string; name: string }[]> {
  const db = database(env);
  const contact = { email: users.email, name: users.name };
  if (accountId.startsWith("org_")) {
    return db
      .select(contact)
      .from(memberships)
      .innerJoin(users, eq(users.id, memberships.userId))
      .where(and(eq(memberships.orgId, accountId), eq(memberships.role, "owner")));
  }
  return db.select(contact).from(users).where(eq(users.id, accountId));
}

/** Whether `accountId` is a user whose email is verified (an org, or an unknown id, is not). */
export async function isVerifiedUser(env: Env, accountId: string): Promise<boolean> {
  const [row] = await database(env)
    .select({ id: users.id })
    .from(users)
    .where(and(eq(users.id, accountId), isNotNull(users.emailVerifiedAt)));
  return row !== undefined;
}
