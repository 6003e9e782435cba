import { and, eq, getTableColumns, inArray, lt, sql } from "drizzle-orm";
import type { Config } from "../../../env";
import { clock, DAY_MS } from "../../../platform/clock";
import type { Configured, RequestContext } from "../../../platform/context";
import { database } from "../../../platform/db";
import { AppError } from "../../../platform/errors";
import { newId } from "../../../platform/ids";
import { keyset, toPage } from "../../../platform/pagination";
import type { Answer } from "../chat/answer";
import type { ChatCompletionBody } from "../chat/schema";
import { completeChat } from "../chat/service";
import type { AiCaller } from "../metering";
import { getPreset } from "../presets/service";
import { deploymentsOf, type Model } from "../registry";
import { aiConversations, aiMessages, type MessageStatus } from "../tables";
import type { UsageStatus } from "../usage";
import { fitToContext, recentHistory, titleFrom } from "./history";

/**
 * Conversations kept by Stratus: a conversation belongs to the request's account (which pays
 * for its answers) and to the user who created it, who alone sees it; anyone else gets 404.
 * Sending a message stores it, sends the preset's system prompt and the history that fits the
 * model's context upstream through the chat completion (credits, limits and errors are
 * chat's), and stores the answer.
 */

const MAX_CONVERSATIONS_PER_OWNER = 1_000;
const DEFAULT_CONVERSATION_MODEL = "gpt-4o-mini";

/** Who asks, for which account, with the configuration of the request. */
export type Caller = Pick<RequestContext, "env" | "config" | "principal" | "account">;

type ConversationRow = typeof aiConversations.$inferSelect;
type MessageRow = typeof aiMessages.$inferSelect;

const publicConversation = (row: ConversationRow) => ({
  id: row.id,
  title: row.title,
  model: row.model,
  presetId: row.presetId,
  createdAt: clock.iso(row.createdAt),
  updatedAt: clock.iso(row.updatedAt),
});

const publicMessage = (row: MessageRow) => ({
  id: row.id,
  role: row.role,
  content: row.content,
  model: row.model,
  status: row.status,
  createdAt: clock.iso(row.createdAt),
});

type PublicMessage = ReturnType<typeof publicMessage>;

const ownedBy = (caller: Caller, id: string) =>
  and(
    eq(aiConversations.id, id),
    eq(aiConversations.accountId, caller.account.id),
    eq(aiConversations.userId, caller.principal.id),
  );

async function conversationRow(caller: Caller, id: string): Promise<ConversationRow> {
  const { env } = caller;
  const [row] = await database(env).select().from(aiConversations).where(ownedBy(caller, id));
  if (!row) throw new AppError("not_found", "No such conversation.");
  return row;
}

/** A chat model offered here (404 `model_not_found` otherwise). */
function chatModel(config: Config, id: string): Model {
  const [model] = deploymentsOf(config, id, ["chat"]);
  if (!model) throw new AppError("model_not_found", `The model "${id}" is not available here.`);
  return model;
}

export async function createConversation(
  caller: Caller,
  input: { title?: string | undefined; model?: string | undefined; presetId?: string | undefined },
) {
  const { env } = caller;
  const preset = input.presetId ? await getPreset(env, caller.account, input.presetId) : null;
  const model = input.model ?? preset?.model ?? DEFAULT_CONVERSATION_MODEL;
  chatModel(caller.config, model);
  const now = clock.now();
  const row: ConversationRow = {
    id: newId("cnv", now),
    accountId: caller.account.id,
    userId: caller.principal.id,
    title: input.title ?? null,
    model,
    presetId: input.presetId ?? null,
    createdAt: now,
    updatedAt: now,
  };
  // One statement counts and inserts, so concurrent creations cannot pass the limit together.
  const columns = getTableColumns(aiConversations);
  const values = sql.join(
    (Object.keys(columns) as (keyof ConversationRow)[]).map((key) => sql.param(row[key], columns[key])),
    sql`, `,
  );
  const inserted = await database(env)
    .insert(aiConversations)
    .select(
      sql`SELECT ${values} WHERE (SELECT count(*) FROM ${aiConversations} WHERE ${aiConversations.accountId} = ${caller.account.id} AND ${aiConversations.userId} = ${caller.principal.id}) < ${MAX_CONVERSATIONS_PER_OWNER}`,
    )
    .returning({ id: aiConversations.id });
  if (inserted.length === 0) {
    throw new AppError(
      "conflict",
      `You already have ${MAX_CONVERSATIONS_PER_OWNER} conversations in this account, the most you may keep: delete some first.`,
    );
  }
  return publicConversation(row);
}

export async function listConversations(caller: Caller, query: { limit: number; cursor?: string }) {
  const { env } = caller;
  const seek = keyset(query.cursor, aiConversations.updatedAt, aiConversations.id, "desc");
  const rows = await database(env)
    .select()
    .from(aiConversations)
    .where(
      and(
        eq(aiConversations.accountId, caller.account.id),
        eq(aiConversations.userId, caller.principal.id),
        seek.after,
      ),
    )
    .orderBy(...seek.orderBy)
    .limit(query.limit + 1);
  const { items, nextCursor } = toPage(rows, query.limit, (row) => ({ key: row.updatedAt, id: row.id }));
  return { items: items.map(publicConversation), nextCursor };
}

export const getConversation = async (caller: Caller, id: string) =>
  publicConversation(await conversationRow(caller, id));

export async function updateConversation(
  caller: Caller,
  id: string,
  input: { title?: string | undefined; model?: string | undefined; presetId?: string | null | undefined },
) {
  const { env } = caller;
  await conversationRow(caller, id);
  const changes: Partial<ConversationRow> = { updatedAt: clock.now() };
  if (input.title !== undefined) changes.title = input.title;
  if (input.presetId !== undefined) changes.presetId = input.presetId;
  // Choosing a preset brings its model, as at creation, unless the body names one.
  const preset = input.presetId ? await getPreset(env, caller.account, input.presetId) : null;
  const model = input.model ?? preset?.model;
  if (model !== undefined) {
    chatModel(caller.config, model);
    changes.model = model;
  }
  const [row] = await database(env).update(aiConversations).set(changes).where(ownedBy(caller, id)).returning();
  if (!row) throw new AppError("not_found", "No such conversation.");
  return publicConversation(row);
}

export async function deleteConversation(caller: Caller, id: string) {
  const { env } = caller;
  await conversationRow(caller, id);
  const db = database(env);
  await db.batch([
    db.delete(aiMessages).where(eq(aiMessages.conversationId, id)),
    db.delete(aiConversations).where(ownedBy(caller, id)),
  ]);
}

export async function listMessages(caller: Caller, id: string, query: { limit: number; cursor?: string }) {
  const { env } = caller;
  await conversationRow(caller, id);
  const seek = keyset(query.cursor, aiMessages.createdAt, aiMessages.id, "asc");
  const rows = await database(env)
    .select()
    .from(aiMessages)
    .where(and(eq(aiMessages.conversationId, id), seek.after))
    .orderBy(...seek.orderBy)
    .limit(query.limit + 1);
  const { items, nextCursor } = toPage(rows, query.limit, (row) => ({ key: row.createdAt, id: row.id }));
  return { items: items.map(publicMessage), nextCursor };
}

/** How an answer ended, as a message keeps it: no text received is a failed answer. */
const messageStatusOf = (status: UsageStatus, text: string): MessageStatus =>
  status === "completed" ? "complete" : status === "incomplete" && text !== "" ? "incomplete" : "failed";

type Answered = { text: string; status: UsageStatus; model: string | null };

/**
 * Stores the assistant message after its user message, bumps the conversation and titles it
 * if it has no title yet. Nothing is stored when the conversation was deleted meanwhile.
 */
async function recordAnswer(env: Env, conversation: ConversationRow, question: MessageRow, answered: Answered) {
  const now = Math.max(clock.now(), question.createdAt + 1);
  const row: MessageRow = {
    id: newId("msg", now),
    conversationId: conversation.id,
    role: "assistant",
    content: answered.text,
    model: answered.model,
    status: messageStatusOf(answered.status, answered.text),
    createdAt: now,
  };
  const title = titleFrom(question.content);
  const db = database(env);
  const [bumped] = await db
    .update(aiConversations)
    .set({
      updatedAt: now,
      ...(title === null ? {} : { title: sql`coalesce(${aiConversations.title}, ${title})` }),
    })
    .where(eq(aiConversations.id, conversation.id))
    .returning({ id: aiConversations.id });
  if (bumped) await db.insert(aiMessages).values(row);
  return row;
}

/** The preset a message uses: the one it names (404 if not the account's), else the conversation's. */
async function presetOf(caller: Caller, conversation: ConversationRow, presetId: string | undefined) {
  const { env } = caller;
  if (presetId) return getPreset(env, caller.account, presetId);
  if (!conversation.presetId) return null;
  try {
    return await getPreset(env, caller.account, conversation.presetId);
  } catch (error) {
    if (!(error instanceof AppError && error.code === "not_found")) throw error;
    throw new AppError(
      "conflict",
      "The conversation's preset was deleted: choose another one (or none) with PATCH, or name one in the message.",
    );
  }
}

type SendOutcome =
  | { kind: "json"; userMessage: PublicMessage; assistantMessage: PublicMessage }
  | { kind: "stream"; stream: ReadableStream<Uint8Array> };

/**
 * Sends a message and stores both sides. Everything that can refuse the request for its input
 * (the conversation, the preset, the model, the context) is checked before the user message is
 * stored. Not streamed, the answer is stored before the response; streamed, `onFinish` stores
 * it after the stream with what the client received. An exchange that fails after the user
 * message is stored (no credits, the provider down) keeps a `failed` assistant message.
 */
export async function sendMessage(
  caller: AiCaller,
  id: string,
  input: { content: string; model?: string | undefined; presetId?: string | undefined; stream?: boolean | undefined },
  clientSignal: AbortSignal,
): Promise<SendOutcome> {
  const { env } = caller;
  const conversation = await conversationRow(caller, id);
  const preset = await presetOf(caller, conversation, input.presetId);
  const modelId = input.model ?? (input.presetId && preset ? preset.model : conversation.model);
  const model = chatModel(caller.config, modelId);
  const parameters = preset?.parameters ?? {};
  const maxTokens = Math.min(parameters.maxTokens ?? model.defaultMaxOutput, model.maxOutput);
  const messages = fitToContext({
    system: preset?.systemPrompt || null,
    history: await recentHistory(env, conversation.id, model.contextWindow - maxTokens),
    next: { role: "user", content: input.content },
    contextWindow: model.contextWindow,
    maxTokens,
  });
  const streamed = input.stream === true;
  const body: ChatCompletionBody = {
    model: modelId,
    messages,
    stream: streamed,
    ...(parameters.temperature !== undefined ? { temperature: parameters.temperature } : {}),
    ...(parameters.topP !== undefined ? { top_p: parameters.topP } : {}),
    ...(parameters.maxTokens !== undefined ? { max_tokens: parameters.maxTokens } : {}),
    ...(parameters.stop?.length ? { stop: parameters.stop } : {}),
  };

  const now = clock.now();
  const question: MessageRow = {
    id: newId("msg", now),
    conversationId: conversation.id,
    role: "user",
    content: input.content,
    model: null,
    status: "complete",
    createdAt: now,
  };
  await database(env).insert(aiMessages).values(question);

  // `completeChat` calls `onFinish` synchronously when it settles (before returning a JSON
  // answer, or as it throws); only a stream's answer is stored from there, in `waitUntil`.
  const outcome: { answered?: Answered } = {};
  const onFinish = async (answer: Answer, status: UsageStatus, answeredBy: Model | null) => {
    outcome.answered = { text: answer.choices[0]?.text ?? "", status, model: answeredBy?.id ?? null };
    if (streamed) await recordAnswer(env, conversation, question, outcome.answered);
  };
  let chat: Awaited<ReturnType<typeof completeChat>>;
  try {
    chat = await completeChat(caller, body, clientSignal, { onFinish });
  } catch (error) {
    if (!(streamed && outcome.answered)) {
      await recordAnswer(env, conversation, question, { text: "", status: "failed", model: null }).catch(
        (failure: unknown) =>
          caller.logger.error("a failed exchange was not recorded", {
            error: failure instanceof Error ? failure.message : String(failure),
          }),
      );
    }
    throw error;
  }
  if (chat.kind === "stream") return { kind: "stream", stream: chat.stream };
  const answered = outcome.answered ?? { text: textOfCompletion(chat.body), status: "completed", model: modelId };
  const reply = await recordAnswer(env, conversation, question, answered);
  return { kind: "json", userMessage: publicMessage(question), assistantMessage: publicMessage(reply) };
}

/** The first choice's text of a chat completion (only if `onFinish` was not told, which chat always does). */
const textOfCompletion = (body: unknown) =>
  (body as { choices?: { message?: { content?: string | null } }[] }).choices?.[0]?.message?.content ?? "";

/**
 * Deletes messages older than AI_MESSAGE_RETENTION_DAYS, a bounded number per cron run. Their
 * conversations stay, even when left empty.
 */
export async function purgeOldMessages({ env, config }: Configured, now: number, limit = 1_000): Promise<number> {
  const cutoff = now - config.AI_MESSAGE_RETENTION_DAYS * DAY_MS;
  const db = database(env);
  const old = db.select({ id: aiMessages.id }).from(aiMessages).where(lt(aiMessages.createdAt, cutoff)).limit(limit);
  const deleted = await db.delete(aiMessages).where(inArray(aiMessages.id, old)).returning({ id: aiMessages.id });
  return deleted.length;
}
