import { and, desc, eq, lte, ne, sql } from "drizzle-orm";
import { database } from "../../../platform/db";
import { AppError } from "../../../platform/errors";
import { estimateInputTokens } from "../pricing";
import { aiMessages } from "../tables";

/** What of a conversation goes upstream: the history that fits the model's context, and its title. */

const MAX_HISTORY_MESSAGES = 1_000;
const TITLE_CHARS = 60;

/** A message as sent upstream. */
export type Turn = { role: "system" | "user" | "assistant"; content: string };

/**
 * The messages sent upstream: the system prompt, then as much of the history as fits, then the
 * new message. The oldest history goes first so that the estimated input fits in the context
 * window less the tokens kept for the answer; the system prompt and the new message always
 * stay, and when even they do not fit the request is refused (400).
 */
export function fitToContext(input: {
  system: string | null;
  history: readonly Turn[];
  next: Turn;
  contextWindow: number;
  maxTokens: number;
}): Turn[] {
  const budget = input.contextWindow - input.maxTokens;
  const head: Turn[] = input.system ? [{ role: "system", content: input.system }] : [];
  // The estimate is a sum over messages, so each message's share is counted once.
  let used = estimateInputTokens({ messages: [...head, input.next] });
  if (used > budget) {
    throw new AppError(
      "validation_failed",
      `The message is too long for the model: about ${used} tokens, and its context window leaves ${Math.max(budget, 0)} after the answer's ${input.maxTokens}.`,
      { errors: [{ path: "body.content", message: "too long for the model's context window" }] },
    );
  }
  let first = input.history.length;
  while (first > 0) {
    const cost = estimateInputTokens({ messages: [input.history[first - 1] as Turn] });
    if (used + cost > budget) break;
    used += cost;
    first -= 1;
  }
  return [...head, ...input.history.slice(first), input.next];
}

/**
 * The newest history a context of `budgetTokens` can hold, oldest first: rows are read newest
 * first until their text passes what that many tokens can hold (3 characters a token at least,
 * as `estimateInputTokens` counts), so a long conversation is never read whole. Failed answers
 * (no text) are not history.
 */
export async function recentHistory(env: Env, conversationId: string, budgetTokens: number): Promise<Turn[]> {
  const maxChars = Math.max(budgetTokens, 0) * 3;
  const db = database(env);
  const newest = db
    .select({
      role: aiMessages.role,
      content: aiMessages.content,
      createdAt: aiMessages.createdAt,
      id: aiMessages.id,
      before:
        sql<number>`coalesce(sum(length(${aiMessages.content})) over (order by ${aiMessages.createdAt} desc, ${aiMessages.id} desc rows between unbounded preceding and 1 preceding), 0)`.as(
          "chars_before",
        ),
    })
    .from(aiMessages)
    .where(and(eq(aiMessages.conversationId, conversationId), ne(aiMessages.status, "failed")))
    .as("newest");
  const rows = await db
    .select({ role: newest.role, content: newest.content })
    .from(newest)
    .where(lte(newest.before, maxChars))
    .orderBy(desc(newest.createdAt), desc(newest.id))
    .limit(MAX_HISTORY_MESSAGES);
  return rows.reverse();
}

/**
 * The title of a conversation from its first user message: at most 60 characters, cut at a
 * word boundary. Titling by asking a model would cost the user credits they did not ask to
 * spend, add a second upstream call (latency, subrequests, another way to fail) after every
 * first answer, and send the text to a model once more; the opening message names the topic
 * well enough, and the user can rename the conversation.
 */
export function titleFrom(content: string, max = TITLE_CHARS): string | null {
  const text = content.replace(/\s+/g, " ").trim();
  if (text === "") return null;
  if (text.length <= max) return text;
  // One character is kept for the ellipsis.
  const cut = text.slice(0, max - 1);
  const boundary = text[max - 1] === " " ? cut.length : cut.lastIndexOf(" ");
  const head = (boundary > 0 ? cut.slice(0, boundary) : cut).trimEnd().replace(/[\uD800-\uDBFF]$/, "");
  return `${head}…`;
}
