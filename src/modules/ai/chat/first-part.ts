import type { Config } from "../../../env";
import { UpstreamError } from "../../../platform/upstreams/error";
import type { Attempt } from "../fallbacks";
import { chatProviderOf } from "../providers";
import type { ChatPart, ChatRequest } from "../providers/types";
import { Answer } from "./answer";

/**
 * Starts a streamed answer on one deployment and waits for its first part: a slow start is a
 * retryable failure, whether the upstream takes longer than `AI_CONNECT_TIMEOUT_MS` to answer
 * with its headers or longer than `AI_FIRST_TOKEN_TIMEOUT_MS` (from the start) to send a part.
 * Answers the first part of the answer's content, the parts before it (usage, chunks to relay),
 * the rest, and whether the provider relays its chunks (`ChatProvider.relays`).
 */
export async function firstPart(
  config: Config,
  attempt: Attempt,
  request: Omit<ChatRequest, "model">,
): Promise<{
  early: ChatPart[];
  first: ChatPart;
  rest: AsyncIterator<ChatPart>;
  abort: AbortController;
  relays: boolean;
}> {
  const abort = new AbortController();
  const signal = AbortSignal.any([attempt.signal, abort.signal]);
  let timedOut: string | null = null;
  const giveUpAfter = (ms: number, what: string) =>
    setTimeout(() => {
      timedOut = `${attempt.model.provider}: ${what} within ${ms} ms`;
      abort.abort(new UpstreamError(timedOut, { retryable: true }));
    }, ms);
  const provider = chatProviderOf(config, attempt.model.provider);
  const connectTimer = giveUpAfter(config.AI_CONNECT_TIMEOUT_MS, "no response");
  const firstTokenTimer = giveUpAfter(config.AI_FIRST_TOKEN_TIMEOUT_MS, "no first token");
  const maxTokens = Math.min(request.maxTokens, attempt.model.maxOutput);
  const iterator = withinBounds(
    provider.chat({ ...request, model: attempt.model.upstream, maxTokens }, signal, () => clearTimeout(connectTimer)),
    attempt.model.provider,
    charactersAllowed(maxTokens, request.n),
  )[Symbol.asyncIterator]();
  try {
    // Usage alone (some servers send it first) is not an answer, nor is a chunk without content
    // (the one naming the role): the client would have no word of it.
    const early: ChatPart[] = [];
    for (;;) {
      const result = await iterator.next();
      if (result.done) throw new UpstreamError(`${attempt.model.provider}: answered nothing`, { retryable: true });
      if (!BEFORE_CONTENT.has(result.value.type)) {
        return { early, first: result.value, rest: iterator, abort, relays: provider.relays === true };
      }
      early.push(result.value);
    }
  } catch (error) {
    if (timedOut) throw new UpstreamError(timedOut, { retryable: true });
    throw error;
  } finally {
    clearTimeout(connectTimer);
    clearTimeout(firstTokenTimer);
  }
}

/** Parts that are no content of the answer: the first part is the first that is not one. */
const BEFORE_CONTENT = new Set<ChatPart["type"]>(["usage", "usage_rejected", "relay"]);

/**
 * The most characters an answer of `maxTokens` per choice may carry: far more than any
 * tokenizer produces (a token is a few characters), so only an upstream gone wrong reaches it.
 */
const charactersAllowed = (maxTokens: number, n: number) => (maxTokens * 64 + 65_536) * n;

/**
 * An adapter's parts, checked where all adapters are alike: an answer longer than its tokens
 * allow is a fault of the provider (and never fills the isolate's memory).
 */
async function* withinBounds(parts: AsyncIterable<ChatPart>, provider: string, maxCharacters: number) {
  let characters = 0;
  for await (const part of parts) {
    if (part.type === "text") characters += part.text.length;
    else if (part.type === "tool_call") characters += part.arguments.length + (part.name?.length ?? 0);
    if (characters > maxCharacters) throw UpstreamError.invalidAnswer(provider, "longer than its max_tokens allow");
    yield part;
  }
}

/** The whole answer of a started attempt: the parts before its first, the first, and the rest. */
export async function wholeAnswer(started: Awaited<ReturnType<typeof firstPart>>): Promise<Answer> {
  const answer = new Answer();
  for (const part of [...started.early, started.first]) answer.add(part);
  for (let next = await started.rest.next(); !next.done; next = await started.rest.next()) answer.add(next.value);
  return answer;
}
