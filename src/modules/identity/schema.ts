import { z } from "@hono/zod-openapi";
import { PASSWORD_MAX_LENGTH } from "./passwords";

/** Trimmed and lower-cased: one address, one account. */
export const EmailSchema = z
  .string()
  .trim()
  .toLowerCase()
  .max(254)
  .pipe(z.email("must be an email address"))
  .openapi({ example: "ada@example.com" });

/** Length and the common-password list are checked by the service, which says which rule failed. */
const NewPasswordSchema = z
  .string()
  .max(PASSWORD_MAX_LENGTH * 4)
  .openapi({
    description: "8 to 128 characters, not on the list of common passwords",
    example: "correct horse battery",
  });

const NameSchema = z.string().trim().min(1).max(100);

export const RegisterBody = z
  .object({ email: EmailSchema, password: NewPasswordSchema, name: NameSchema })
  .strict()
  .openapi("RegisterRequest");

export const LoginBody = z
  .object({
    email: EmailSchema,
    password: z
      .string()
      .min(1)
      .max(PASSWORD_MAX_LENGTH * 4),
  })
  .strict()
  .openapi("LoginRequest");

export const RefreshBody = z
  .object({ refreshToken: z.string().min(1).max(200) })
  .strict()
  .openapi("RefreshRequest");

export const TokenPairSchema = z
  .object({
    accessToken: z.string(),
    refreshToken: z.string(),
    tokenType: z.literal("Bearer"),
    expiresIn: z.number().int().openapi({ description: "Seconds until the access token expires" }),
  })
  .openapi("TokenPair");

export const UserSchema = z
  .object({
    id: z.string().openapi({ example: "usr_01JD0000000000000000000000" }),
    email: z.string(),
    emailVerified: z.boolean(),
    name: z.string(),
    locale: z.string().nullable(),
    timezone: z.string().nullable(),
    preferences: z.record(z.string(), z.unknown()),
    role: z.enum(["user", "admin"]),
    createdAt: z.string(),
  })
  .openapi("User");

export const AuthResultSchema = z.object({ user: UserSchema, tokens: TokenPairSchema }).openapi("AuthResult");

const PREFERENCES_MAX_BYTES = 4096;

const isTimeZone = (value: string) => {
  try {
    new Intl.DateTimeFormat("en", { timeZone: value });
    return true;
  } catch {
    return false;
  }
};

export const UpdateMeBody = z
  .object({
    name: NameSchema.optional(),
    locale: z
      .string()
      .regex(/^[a-zA-Z]{2,3}(-[a-zA-Z0-9]{2,8})*$/, "must be a BCP 47 language tag like en or pt-BR")
      .max(35)
      .nullable()
      .optional(),
    timezone: z
      .string()
      .max(64)
      .refine(isTimeZone, "must be an IANA time zone like Europe/Paris")
      .nullable()
      .optional(),
    preferences: z
      .record(z.string().max(64), z.unknown())
      .refine(
        (value) => new TextEncoder().encode(JSON.stringify(value)).byteLength <= PREFERENCES_MAX_BYTES,
        `must be at most ${PREFERENCES_MAX_BYTES} bytes of JSON`,
      )
      .optional(),
  })
  .strict()
  .refine((body) => Object.keys(body).length > 0, "send at least one field")
  .openapi("UpdateMeRequest");

export const ChangePasswordBody = z
  .object({
    currentPassword: z
      .string()
      .min(1)
      .max(PASSWORD_MAX_LENGTH * 4),
    newPassword: NewPasswordSchema,
  })
  .strict()
  .openapi("ChangePasswordRequest");

const SessionSchema = z
  .object({
    id: z.string(),
    userAgent: z.string().nullable(),
    ip: z.string().nullable(),
    createdAt: z.string(),
    lastUsedAt: z.string(),
    current: z.boolean(),
  })
  .openapi("Session");

export const SessionListSchema = z
  .object({ items: z.array(SessionSchema), nextCursor: z.string().nullable() })
  .openapi("SessionList");

export const SessionIdParams = z.object({ id: z.string().min(1).max(64) }).strict();

export const JwksSchema = z
  .object({
    keys: z.array(
      z.object({ kty: z.string(), crv: z.string(), x: z.string(), kid: z.string(), alg: z.string(), use: z.string() }),
    ),
  })
  .openapi("JSONWebKeySet");

const EmailTokenSchema = z.string().min(1).max(200).openapi({ description: "The token from the emailed link" });

export const VerifyEmailBody = z.object({ token: EmailTokenSchema }).strict().openapi("VerifyEmailRequest");

export const ForgotPasswordBody = z.object({ email: EmailSchema }).strict().openapi("ForgotPasswordRequest");

export const ResendVerificationBody = z.object({ email: EmailSchema }).strict().openapi("ResendVerificationRequest");

export const ResetPasswordBody = z
  .object({ token: EmailTokenSchema, password: NewPasswordSchema })
  .strict()
  .openapi("ResetPasswordRequest");

export const ChangeEmailBody = z
  .object({
    newEmail: EmailSchema,
    password: z
      .string()
      .min(1)
      .max(PASSWORD_MAX_LENGTH * 4),
  })
  .strict()
  .openapi("ChangeEmailRequest");
