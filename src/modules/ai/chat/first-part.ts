import type { Config } from "../../../env";
import type { Attempt } from "../fallbacks";
import { chatProviderOf } from "../providers";
import { type ChatPart, type ChatRequest, ProviderError } from "../providers/types";
import { Answer } from "./answer";

/**
 * Starts a streamed answer on one deployment and waits for its first part: a slow start is a
 * retryable failure, whether the upstream takes longer than `AI_CONNECT_TIMEOUT_MS` to answer
 * with its headers or longer than `AI_FIRST_TOKEN_TIMEOUT_MS` (from the start) to send a part.
 * Answers the first part that the client sees (with any usage part before it), and the rest.
 */
export async function firstPart(
  config: Config,
  attempt: Attempt,
  request: Omit<ChatRequest, "model">,
): Promise<{ early: ChatPart[]; first: ChatPart; rest: AsyncIterator<ChatPart>; abort: AbortController }> {
  const abort = new AbortController();
  const signal = AbortSignal.any([attempt.signal, abort.signal]);
  let timedOut: string | null = null;
  const giveUpAfter = (ms: number, what: string) =>
    setTimeout(() => {
      timedOut = `${attempt.model.provider}: ${what} within ${ms} ms`;
      abort.abort(new ProviderError(timedOut, true));
    }, ms);
  const provider = chatProviderOf(config, attempt.model.provider);
  const connectTimer = giveUpAfter(config.AI_CONNECT_TIMEOUT_MS, "no response");
  const firstTokenTimer = giveUpAfter(config.AI_FIRST_TOKEN_TIMEOUT_MS, "no first token");
  const iterator = provider
    .chat(
      { ...request, model: attempt.model.upstream, maxTokens: Math.min(request.maxTokens, attempt.model.maxOutput) },
      signal,
      () => clearTimeout(connectTimer),
    )
    [Symbol.asyncIterator]();
  try {
    // Usage alone (some servers send it first) is not an answer: the client would have no byte.
    const early: ChatPart[] = [];
    for (;;) {
      const result = await iterator.next();
      if (result.done) throw new ProviderError("the upstream answered nothing", true);
      if (result.value.type !== "usage") return { early, first: result.value, rest: iterator, abort };
      early.push(result.value);
    }
  } catch (error) {
    if (timedOut) throw new ProviderError(timedOut, true);
    throw error;
  } finally {
    clearTimeout(connectTimer);
    clearTimeout(firstTokenTimer);
  }
}

/** The whole answer of a started attempt: the parts before its first, the first, and the rest. */
export async function wholeAnswer(started: Awaited<ReturnType<typeof firstPart>>): Promise<Answer> {
  const answer = new Answer();
  for (const part of [...started.early, started.first]) answer.add(part);
  for (let next = await started.rest.next(); !next.done; next = await started.rest.next()) answer.add(next.value);
  return answer;
}
