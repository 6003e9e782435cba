import { index, integer, real, sqliteTable, text } from "drizzle-orm/sqlite-core";

/**
 * One row per AI request (ARCHITECTURE.md: "the unrounded cost is kept in the usage row"):
 * who asked for which account, what answered, the tokens, the exact cost and the charge,
 * the timings and how it ended. `id` is the server's own id of the call (it also keys its
 * credit hold); `request_id` is the `x-request-id` the answer carried.
 */
export const aiUsage = sqliteTable(
  "ai_usage",
  {
    id: text("id").primaryKey(),
    /** The request's `x-request-id`: a client may choose it, so it is not unique. */
    // Rows written before this column existed have none.
    requestId: text("request_id").notNull().default(""),
    accountId: text("account_id").notNull(),
    userId: text("user_id").notNull(),
    apiKeyId: text("api_key_id"),
    endpoint: text("endpoint").notNull(),
    /** The model asked for, and the model that answered (a fallback, maybe). */
    requestedModel: text("requested_model").notNull(),
    model: text("model"),
    provider: text("provider"),
    inputTokens: integer("input_tokens").notNull(),
    outputTokens: integer("output_tokens").notNull(),
    /** Millicredits, unrounded. */
    cost: real("cost").notNull(),
    charged: integer("charged").notNull(),
    timeToFirstTokenMs: integer("time_to_first_token_ms"),
    latencyMs: integer("latency_ms").notNull(),
    /** `completed`, `incomplete` (the client left or the stream broke), `failed`. */
    status: text("status", { enum: ["completed", "incomplete", "failed"] }).notNull(),
    /**
     * Where the counts came from: `provider` (its own, believed), `estimated` (Stratus's: the
     * provider sent none, or counts that failed validation, or the answer was cut short).
     * Null on rows written before this column existed.
     */
    usageSource: text("usage_source", { enum: ["provider", "estimated"] }),
    createdAt: integer("created_at").notNull(),
  },
  (table) => [
    index("ai_usage_account").on(table.accountId, table.createdAt),
    index("ai_usage_user").on(table.userId, table.createdAt),
  ],
);

export const PRESET_VISIBILITIES = ["private", "org"] as const;
export type PresetVisibility = (typeof PRESET_VISIBILITIES)[number];

/**
 * Saved prompt presets. `ownerId` is the account that owns one: its creator (`private`) or
 * the org it is shared with (`org`), so listing, tenancy and the per-owner limit read one column.
 */
export const aiPresets = sqliteTable(
  "ai_presets",
  {
    id: text("id").primaryKey(),
    ownerId: text("owner_id").notNull(),
    visibility: text("visibility", { enum: PRESET_VISIBILITIES }).notNull(),
    name: text("name").notNull(),
    category: text("category").notNull(),
    systemPrompt: text("system_prompt").notNull(),
    model: text("model").notNull(),
    parameters: text("parameters", { mode: "json" })
      .$type<{ temperature?: number; topP?: number; maxTokens?: number; stop?: string[] }>()
      .notNull(),
    createdBy: text("created_by").notNull(),
    createdAt: integer("created_at").notNull(),
    updatedAt: integer("updated_at").notNull(),
  },
  (table) => [
    index("ai_presets_owner").on(table.ownerId, table.createdAt, table.id),
    index("ai_presets_owner_category").on(table.ownerId, table.category, table.createdAt, table.id),
  ],
);

export const MESSAGE_ROLES = ["user", "assistant"] as const;
export const MESSAGE_STATUSES = ["complete", "incomplete", "failed"] as const;
export type MessageStatus = (typeof MESSAGE_STATUSES)[number];

/**
 * Chat conversations. One belongs to an account (`accountId`: the user, or the org that pays
 * for it) and to the user who created it (`userId`): only that user sees it, so every lookup
 * reads both columns.
 */
export const aiConversations = sqliteTable(
  "ai_conversations",
  {
    id: text("id").primaryKey(),
    accountId: text("account_id").notNull(),
    userId: text("user_id").notNull(),
    /** Null until the first exchange titles it (or the user names it). */
    title: text("title"),
    model: text("model").notNull(),
    presetId: text("preset_id"),
    createdAt: integer("created_at").notNull(),
    updatedAt: integer("updated_at").notNull(),
  },
  (table) => [index("ai_conversations_owner").on(table.accountId, table.userId, table.updatedAt, table.id)],
);

/**
 * A conversation's messages, oldest first by (`createdAt`, `id`). An assistant message keeps
 * the model that answered and how the answer ended. Deleted with their conversation, or by the
 * retention cron (AI_MESSAGE_RETENTION_DAYS).
 */
export const aiMessages = sqliteTable(
  "ai_messages",
  {
    id: text("id").primaryKey(),
    conversationId: text("conversation_id").notNull(),
    role: text("role", { enum: MESSAGE_ROLES }).notNull(),
    content: text("content").notNull(),
    model: text("model"),
    status: text("status", { enum: MESSAGE_STATUSES }).notNull(),
    createdAt: integer("created_at").notNull(),
  },
  (table) => [
    index("ai_messages_conversation").on(table.conversationId, table.createdAt, table.id),
    index("ai_messages_created").on(table.createdAt),
  ],
);
