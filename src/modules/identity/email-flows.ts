import { and, eq, gt, inArray, isNull } from "drizzle-orm";
import { clock } from "../../platform/clock";
import { randomToken, sha256Hex } from "../../platform/crypto";
import { database, isUniqueViolation } from "../../platform/db";
import { AppError } from "../../platform/errors";
import { sendEmail } from "../email/service";
import { requireAcceptablePassword } from "./password-policy";
import { hashPassword, verifyPassword } from "./passwords";
import { forgetUser } from "./session-cache";
import { revokeUserSessions } from "./sessions";
import { emailTokens, users } from "./tables";

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

/** Claims a live token of one of `purposes`, once; anything else is 400 `invalid_token`. */
async function consumeToken(env: Env, token: string, purposes: Purpose[]) {
  const now = clock.now();
  const [row] = await database(env)
    .update(emailTokens)
    .set({ usedAt: now })
    .where(
      and(
        eq(emailTokens.tokenHash, await sha256Hex(token)),
        inArray(emailTokens.purpose, purposes),
        isNull(emailTokens.usedAt),
        gt(emailTokens.expiresAt, now),
      ),
    )
    .returning();
  if (!row) throw new AppError("invalid_token", "This link is invalid, already used or expired. Ask for a new one.");
  return row;
}

export async function sendVerification(env: Env, user: { id: string; email: string; name: string }) {
  const token = await issueToken(env, user.id, "verify_email", VERIFY_TOKEN_TTL_MS);
  await sendEmail(env, user.email, "verifyEmail", { name: user.name, token });
}

/** A new link when the account exists, is enabled and is not verified yet; silent otherwise. */
export async function resendVerification(env: Env, email: string) {
  const [user] = await database(env).select().from(users).where(eq(users.email, email));
  if (!user || user.emailVerifiedAt !== null || user.disabledAt !== null) return;
  await sendVerification(env, user);
}

/** A verification or email-change token: the address it was sent to is now proven. */
export async function verifyEmail(env: Env, token: string) {
  const claimed = await consumeToken(env, token, ["verify_email", "change_email"]);
  const now = clock.now();
  const changes =
    claimed.purpose === "change_email" && claimed.newEmail
      ? { email: claimed.newEmail, emailVerifiedAt: now, updatedAt: now }
      : { emailVerifiedAt: now, updatedAt: now };
  try {
    await database(env).update(users).set(changes).where(eq(users.id, claimed.userId));
    forgetUser(claimed.userId);
  } catch (error) {
    if (isUniqueViolation(error)) throw new AppError("conflict", "Another account took this email address meanwhile.");
    throw error;
  }
}

/** Starts an email change: the new address gets a link; nothing changes until it is used. */
export async function requestEmailChange(env: Env, userId: string, input: { newEmail: string; password: string }) {
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
  const [taken] = await db.select({ id: users.id }).from(users).where(eq(users.email, input.newEmail));
  if (taken) throw new AppError("conflict", "An account with this email already exists.");
  const token = await issueToken(env, user.id, "change_email", VERIFY_TOKEN_TTL_MS, input.newEmail);
  await sendEmail(env, input.newEmail, "changeEmail", { name: user.name, token });
}

/**
 * Sends a reset link when the account exists and is enabled; says nothing either way. The
 * caller runs it after answering, so the answer's timing does not tell either.
 */
export async function requestPasswordReset(env: Env, email: string) {
  const [user] = await database(env).select().from(users).where(eq(users.email, email));
  if (!user || user.disabledAt !== null) return;
  const token = await issueToken(env, user.id, "reset_password", RESET_TOKEN_TTL_MS);
  await sendEmail(env, user.email, "resetPassword", { name: user.name, token });
}

/** Sets a new password from a reset link; every session of the user ends. */
export async function resetPassword(env: Env, input: { token: string; password: string }) {
  requireAcceptablePassword(input.password, "body.password");
  const claimed = await consumeToken(env, input.token, ["reset_password"]);
  await database(env)
    .update(users)
    .set({ passwordHash: await hashPassword(input.password), updatedAt: clock.now() })
    .where(eq(users.id, claimed.userId));
  await revokeUserSessions(env, claimed.userId, "password_reset");
}
