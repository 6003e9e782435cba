import { and, eq, exists, gt, inArray, isNull, sql } from "drizzle-orm";
import { clock } from "../../platform/clock";
import type { Configured } from "../../platform/context";
import { randomToken, sha256Hex } from "../../platform/crypto";
import { database, isUniqueViolation } from "../../platform/db";
import { AppError } from "../../platform/errors";
import { sendEmail } from "../email/api";
import { forgetKeysOf } from "./api-keys/service";
import { requireAcceptablePassword } from "./password-policy";
import { hashPassword, verifyPassword } from "./passwords";
import { forgetSession, forgetUser } from "./session-cache";
import { apiKeys, emailTokens, sessions, users } from "./tables";

/**
 * Flows that prove control of an email address: verification, email change and password
 * reset. Tokens are 256 random bits sent by email, stored only as SHA-256 hashes, used once
 * (one conditional update claims them) and short-lived.
 */

export const VERIFY_TOKEN_TTL_MS = 24 * 60 * 60 * 1000;
export const RESET_TOKEN_TTL_MS = 60 * 60 * 1000;

type Purpose = (typeof emailTokens.$inferSelect)["purpose"];

async function issueToken(env: Env, userId: string, purpose: Purpose, ttlMs: number, newEmail: string | null = null) {
  const token = randomToken();
  const now = clock.now();
  await database(env)
    .insert(emailTokens)
    .values({ tokenHash: await sha256Hex(token), userId, purpose, newEmail, createdAt: now, expiresAt: now + ttlMs });
  return token;
}

const invalidToken = () =>
  new AppError("invalid_token", "This link is invalid, already used or expired. Ask for a new one.");

const live = (now: number) => and(isNull(emailTokens.usedAt), gt(emailTokens.expiresAt, now));

/** A live token of one of `purposes`, read without spending it. */
async function peekToken(env: Env, hash: string, purposes: Purpose[], now: number) {
  const [row] = await database(env)
    .select()
    .from(emailTokens)
    .where(and(eq(emailTokens.tokenHash, hash), inArray(emailTokens.purpose, purposes), live(now)));
  if (!row) throw invalidToken();
  return row;
}

/**
 * For a batch: spends the token (one conditional update), and the condition under which the
 * batch's other writes apply, so they happen only if this request spent it.
 */
function spendToken(env: Env, hash: string, now: number) {
  const db = database(env);
  return {
    claim: db
      .update(emailTokens)
      .set({ usedAt: now })
      .where(and(eq(emailTokens.tokenHash, hash), live(now)))
      .returning({ userId: emailTokens.userId }),
    spentHere: exists(
      db
        .select({ one: sql`1` })
        .from(emailTokens)
        .where(and(eq(emailTokens.tokenHash, hash), eq(emailTokens.usedAt, now))),
    ),
  };
}

export async function sendVerification(configured: Configured, user: { id: string; email: string; name: string }) {
  const { env } = configured;
  const token = await issueToken(env, user.id, "verify_email", VERIFY_TOKEN_TTL_MS);
  await sendEmail(configured, user.email, "verifyEmail", { name: user.name, token });
}

/** A new link when the account exists, is enabled and is not verified yet; silent otherwise. */
export async function resendVerification(configured: Configured, email: string) {
  const { env } = configured;
  const [user] = await database(env).select().from(users).where(eq(users.email, email));
  if (!user || user.emailVerifiedAt !== null || user.disabledAt !== null) return;
  await sendVerification(configured, user);
}

/** A verification or email-change token: the address it was sent to is now proven. */
export async function verifyEmail(env: Env, token: string) {
  const now = clock.now();
  const hash = await sha256Hex(token);
  const row = await peekToken(env, hash, ["verify_email", "change_email"], now);
  const changes =
    row.purpose === "change_email" && row.newEmail
      ? { email: row.newEmail, emailVerifiedAt: now, updatedAt: now }
      : { emailVerifiedAt: now, updatedAt: now };
  const db = database(env);
  const { claim, spentHere } = spendToken(env, hash, now);
  try {
    // An address taken meanwhile fails the batch whole: the link stays usable.
    const [claimed] = await db.batch([
      claim,
      db
        .update(users)
        .set(changes)
        .where(and(eq(users.id, row.userId), spentHere)),
    ]);
    if (claimed.length === 0) throw invalidToken();
  } catch (error) {
    if (isUniqueViolation(error)) throw new AppError("conflict", "Another account took this email address meanwhile.");
    throw error;
  }
  forgetUser(row.userId);
}

/** Starts an email change: the new address gets a link; nothing changes until it is used. */
export async function requestEmailChange(
  configured: Configured,
  userId: string,
  input: { newEmail: string; password: string },
) {
  const { env } = configured;
  const db = database(env);
  const [user] = await db.select().from(users).where(eq(users.id, userId));
  if (!user) throw new AppError("not_found", "No such user.");
  if (!(await verifyPassword(input.password, user.passwordHash)).valid) {
    throw new AppError("validation_failed", "The password is wrong.", {
      errors: [{ path: "body.password", message: "is wrong" }],
    });
  }
  if (input.newEmail === user.email) {
    throw new AppError("validation_failed", "This is already your email address.", {
      errors: [{ path: "body.newEmail", message: "is the current address" }],
    });
  }
  // A taken address gets no link, and the answer does not say so (no enumeration).
  const [taken] = await db.select({ id: users.id }).from(users).where(eq(users.email, input.newEmail));
  if (taken) return;
  const token = await issueToken(env, user.id, "change_email", VERIFY_TOKEN_TTL_MS, input.newEmail);
  await sendEmail(configured, input.newEmail, "changeEmail", { name: user.name, token });
}

/**
 * Sends a reset link when the account exists and is enabled; says nothing either way. The
 * caller runs it after answering, so the answer's timing does not tell either.
 */
export async function requestPasswordReset(configured: Configured, email: string) {
  const { env } = configured;
  const [user] = await database(env).select().from(users).where(eq(users.email, email));
  if (!user || user.disabledAt !== null) return;
  const token = await issueToken(env, user.id, "reset_password", RESET_TOKEN_TTL_MS);
  await sendEmail(configured, user.email, "resetPassword", { name: user.name, token });
}

/**
 * Sets a new password from a reset link. Every session ends and every other pending link of
 * the user dies. A reset proves control of the address: an unverified one becomes verified,
 * and since someone else may have registered it first, that account's API keys are revoked.
 */
export async function resetPassword(env: Env, input: { token: string; password: string }) {
  requireAcceptablePassword(input.password, "body.password");
  const now = clock.now();
  const hash = await sha256Hex(input.token);
  const row = await peekToken(env, hash, ["reset_password"], now);
  const db = database(env);
  const [user] = await db
    .select({ emailVerifiedAt: users.emailVerifiedAt })
    .from(users)
    .where(eq(users.id, row.userId));
  const wasUnverified = user?.emailVerifiedAt === null;
  const passwordHash = await hashPassword(input.password);
  const { claim, spentHere } = spendToken(env, hash, now);
  const revokeKeys = wasUnverified ? spentHere : sql`0`;
  const [claimed, , revokedSessions] = await db.batch([
    claim,
    db
      .update(users)
      .set({ passwordHash, updatedAt: now, ...(wasUnverified ? { emailVerifiedAt: now } : {}) })
      .where(and(eq(users.id, row.userId), spentHere)),
    db
      .update(sessions)
      .set({ revokedAt: now, revokedReason: "password_reset" })
      .where(and(eq(sessions.userId, row.userId), isNull(sessions.revokedAt), spentHere))
      .returning({ id: sessions.id }),
    db
      .update(emailTokens)
      .set({ usedAt: now })
      .where(and(eq(emailTokens.userId, row.userId), isNull(emailTokens.usedAt), spentHere)),
    db
      .update(apiKeys)
      .set({ revokedAt: now })
      .where(and(eq(apiKeys.userId, row.userId), isNull(apiKeys.revokedAt), revokeKeys)),
  ]);
  if (claimed.length === 0) throw invalidToken();
  for (const { id } of revokedSessions) forgetSession(id);
  forgetUser(row.userId);
  forgetKeysOf(row.userId);
}

/** After a password change: reset links sent before it no longer work. */
export async function voidResetLinks(env: Env, userId: string) {
  await database(env)
    .update(emailTokens)
    .set({ usedAt: clock.now() })
    .where(and(eq(emailTokens.userId, userId), eq(emailTokens.purpose, "reset_password"), isNull(emailTokens.usedAt)));
}
