import type { Config } from "../../../env";
import type { Attempt } from "../fallbacks";
import { chatProviderOf } from "../providers";
import { type ChatPart, type ChatRequest, ProviderError } from "../providers/types";

/**
 * Starts a streamed answer on one deployment and waits for its first part, at most
 * `firstTokenMs`: a slow start is a retryable failure. Answers the first part that the client
 * sees (with any usage part before it), and the rest.
 */
export async function firstPart(
  config: Config,
  attempt: Attempt,
  request: Omit<ChatRequest, "model">,
): Promise<{ early: ChatPart[]; first: ChatPart; rest: AsyncIterator<ChatPart>; abort: AbortController }> {
  const abort = new AbortController();
  const signal = AbortSignal.any([attempt.signal, abort.signal]);
  const iterator = chatProviderOf(config, attempt.model.provider)
    .chat(
      { ...request, model: attempt.model.upstream, maxTokens: Math.min(request.maxTokens, attempt.model.maxOutput) },
      signal,
    )
    [Symbol.asyncIterator]();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    abort.abort(new ProviderError("no first token in time", true));
  }, config.AI_FIRST_TOKEN_TIMEOUT_MS);
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
    if (timedOut)
      throw new ProviderError(
        `${attempt.model.provider}: no first token within ${config.AI_FIRST_TOKEN_TIMEOUT_MS} ms`,
        true,
      );
    throw error;
  } finally {
    clearTimeout(timer);
  }
}
