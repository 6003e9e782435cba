import { sql } from "drizzle-orm";
import { check, index, integer, primaryKey, sqliteTable, text } from "drizzle-orm/sqlite-core";
import { ORG_ROLES } from "../../middleware/permissions";

export const users = sqliteTable(
  "users",
  {
    id: text("id").primaryKey(),
    /** Trimmed and lower-cased before it is stored or compared. */
    email: text("email").notNull().unique(),
    emailVerifiedAt: integer("email_verified_at"),
    passwordHash: text("password_hash").notNull(),
    name: text("name").notNull(),
    locale: text("locale"),
    timezone: text("timezone"),
    /** A small JSON object the client owns (size-capped by the API). */
    preferences: text("preferences").notNull().default("{}"),
    role: text("role", { enum: ["user", "admin"] })
      .notNull()
      .default("user"),
    disabledAt: integer("disabled_at"),
    createdAt: integer("created_at").notNull(),
    updatedAt: integer("updated_at").notNull(),
  },
  (table) => [check("users_role_known", sql`${table.role} IN ('user', 'admin')`)],
);

/** One sign-in on one device; its refresh tokens rotate, the session stays. */
export const sessions = sqliteTable(
  "sessions",
  {
    id: text("id").primaryKey(),
    userId: text("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    userAgent: text("user_agent"),
    ip: text("ip"),
    createdAt: integer("created_at").notNull(),
    lastUsedAt: integer("last_used_at").notNull(),
    /** Sliding: pushed 30 days ahead by each refresh, never past `absoluteExpiresAt`. */
    expiresAt: integer("expires_at").notNull(),
    absoluteExpiresAt: integer("absolute_expires_at").notNull(),
    revokedAt: integer("revoked_at"),
    revokedReason: text("revoked_reason"),
  },
  (table) => [
    index("sessions_user").on(table.userId, table.revokedAt),
    // The retention cron's lookups (retention.ts).
    index("sessions_expires").on(table.expiresAt),
    index("sessions_revoked").on(table.revokedAt),
  ],
);

/** Refresh tokens, stored only as SHA-256 hashes. A rotated token keeps its row for reuse detection. */
export const refreshTokens = sqliteTable(
  "refresh_tokens",
  {
    tokenHash: text("token_hash").primaryKey(),
    sessionId: text("session_id")
      .notNull()
      .references(() => sessions.id, { onDelete: "cascade" }),
    parentHash: text("parent_hash"),
    createdAt: integer("created_at").notNull(),
    rotatedAt: integer("rotated_at"),
  },
  (table) => [index("refresh_tokens_session").on(table.sessionId)],
);

/** Single-use tokens sent by email (verification, reset, email change), stored only as hashes. */
export const emailTokens = sqliteTable(
  "email_tokens",
  {
    tokenHash: text("token_hash").primaryKey(),
    userId: text("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    purpose: text("purpose", { enum: ["verify_email", "change_email", "reset_password"] }).notNull(),
    /** The address a `change_email` token moves the account to. */
    newEmail: text("new_email"),
    createdAt: integer("created_at").notNull(),
    expiresAt: integer("expires_at").notNull(),
    usedAt: integer("used_at"),
  },
  (table) => [
    index("email_tokens_user").on(table.userId, table.purpose),
    index("email_tokens_expires").on(table.expiresAt),
    check("email_tokens_purpose_known", sql`${table.purpose} IN ('verify_email', 'change_email', 'reset_password')`),
  ],
);

export const orgs = sqliteTable("orgs", {
  id: text("id").primaryKey(),
  name: text("name").notNull(),
  createdBy: text("created_by").notNull(),
  createdAt: integer("created_at").notNull(),
  updatedAt: integer("updated_at").notNull(),
});

export const memberships = sqliteTable(
  "memberships",
  {
    orgId: text("org_id")
      .notNull()
      .references(() => orgs.id, { onDelete: "cascade" }),
    userId: text("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    role: text("role", { enum: ORG_ROLES }).notNull(),
    createdAt: integer("created_at").notNull(),
  },
  (table) => [
    primaryKey({ columns: [table.orgId, table.userId] }),
    index("memberships_user").on(table.userId),
    check("memberships_role_known", sql`${table.role} IN ('owner', 'admin', 'member')`),
  ],
);

export const invitations = sqliteTable(
  "invitations",
  {
    id: text("id").primaryKey(),
    orgId: text("org_id")
      .notNull()
      .references(() => orgs.id, { onDelete: "cascade" }),
    email: text("email").notNull(),
    role: text("role", { enum: ORG_ROLES }).notNull(),
    tokenHash: text("token_hash").notNull().unique(),
    invitedBy: text("invited_by").notNull(),
    createdAt: integer("created_at").notNull(),
    expiresAt: integer("expires_at").notNull(),
    acceptedAt: integer("accepted_at"),
    revokedAt: integer("revoked_at"),
  },
  (table) => [
    index("invitations_org").on(table.orgId, table.createdAt),
    index("invitations_expires").on(table.expiresAt),
  ],
);

/** Who did what to whom: role and membership changes, invitations, keys, admin actions. */
export const auditLog = sqliteTable(
  "audit_log",
  {
    id: text("id").primaryKey(),
    orgId: text("org_id"),
    actorId: text("actor_id").notNull(),
    action: text("action").notNull(),
    targetType: text("target_type").notNull(),
    targetId: text("target_id").notNull(),
    details: text("details").notNull().default("{}"),
    requestId: text("request_id"),
    createdAt: integer("created_at").notNull(),
  },
  (table) => [index("audit_org").on(table.orgId, table.createdAt), index("audit_created").on(table.createdAt)],
);

/** API keys: the secret is shown once; only its SHA-256 hash and a short visible prefix are kept. */
export const apiKeys = sqliteTable(
  "api_keys",
  {
    id: text("id").primaryKey(),
    userId: text("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    /** An org key spends for the org, and works only while its creator is still a member. */
    orgId: text("org_id").references(() => orgs.id, { onDelete: "cascade" }),
    name: text("name").notNull(),
    prefix: text("prefix").notNull(),
    keyHash: text("key_hash").notNull().unique(),
    /** JSON array of ApiKeyScope. */
    scopes: text("scopes").notNull(),
    expiresAt: integer("expires_at"),
    /** The most the key may spend per calendar month (UTC), in millicredits; null: no cap. */
    monthlyCreditBudget: integer("monthly_credit_budget"),
    lastUsedAt: integer("last_used_at"),
    revokedAt: integer("revoked_at"),
    createdAt: integer("created_at").notNull(),
  },
  (table) => [index("api_keys_user").on(table.userId, table.createdAt)],
);
