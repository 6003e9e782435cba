import { AppError } from "../../../platform/errors";
import { chargeWithin, type Hold, payerOf, type Settlement, withHold } from "../../billing/api";
import { circuitSettingsOf, withFallbacks } from "../fallbacks";
import { type AiCaller, holdReferenceOf, usageSettlement } from "../metering";
import { budgetOf, costOf, estimateInputTokens } from "../pricing";
import type { ChatPart, ChatRequest } from "../providers/types";
import type { Model } from "../registry";
import { deploymentsOf } from "../registry";
import type { UsageStatus } from "../usage";
import { Answer } from "./answer";
import { firstPart, wholeAnswer } from "./first-part";
import { type ChatCompletionBody, capabilitiesNeeded, chatRequestOf } from "./schema";
import { ChunkWriter, completion, type Envelope } from "./wire";

/**
 * A chat completion, end to end: pick the deployments, hold the most the answer can cost
 * (and cap its tokens to what the hold covers), reach an upstream (retries and fallbacks
 * before the first byte), answer as JSON or as an SSE stream, then settle what was actually
 * used (or what the client received, when it left or the stream broke) and record the usage.
 */

/** `hold` is null for free (self-hosted) models: nothing to hold or charge. */
type Metered = {
  caller: AiCaller;
  body: ChatCompletionBody;
  hold: Hold | null;
  estimatedInput: number;
  started: number;
  onFinish: ChatOptions["onFinish"];
};

/** What a caller of `completeChat` inside Stratus (conversations) may add. */
type ChatOptions = {
  /** Told how the answer ended (what the client received, if it was cut short); runs in `waitUntil`. */
  onFinish?: (answer: Answer, status: UsageStatus, model: Model | null) => Promise<void>;
};

/**
 * What the answer used: the provider's counts when it finished and sent believable ones, else
 * Stratus's estimate (the input as held, the output the client received, counted). Answers the
 * usage as the client sees it and the settlement that charges it.
 */
function finish(run: Metered, model: Model | null, answer: Answer, status: UsageStatus, firstTokenAt: number | null) {
  const inputTokens = answer.usage?.inputTokens ?? (model ? run.estimatedInput : 0);
  const fromProvider = status === "completed" && answer.usage !== null;
  const outputTokens = fromProvider && answer.usage ? answer.usage.outputTokens : answer.countedOutputTokens();
  const cost = model ? costOf(model.prices, inputTokens, outputTokens) : 0;
  if (run.onFinish) {
    run.caller.waitUntil(
      run.onFinish(answer, status, model).catch((error: unknown) =>
        run.caller.logger.error("a chat answer's follow-up failed", {
          error: error instanceof Error ? error.message : String(error),
        }),
      ),
    );
  }
  const settlement = usageSettlement(run.caller, {
    endpoint: "chat.completions",
    requestedModel: run.body.model,
    model: model?.id ?? null,
    provider: model?.provider ?? null,
    inputTokens,
    outputTokens,
    cost,
    timeToFirstTokenMs: firstTokenAt === null ? null : firstTokenAt - run.started,
    latencyMs: Date.now() - run.started,
    status,
    usageSource: model === null ? null : fromProvider ? "provider" : "estimated",
  });
  return { usage: { inputTokens, outputTokens, charged: chargeWithin(run.hold, cost) }, settlement };
}

type ChatOutcome =
  | { kind: "json"; body: ReturnType<typeof completion>; chargedMillicredits: number }
  | { kind: "stream"; stream: ReadableStream<Uint8Array> };

/**
 * A chat completion through billing's `withHold`: the most the answer can cost is held,
 * optimistically in one wallet call; only when that is refused is the answer fitted to what the
 * refusal says the account and the key's budget have left (402 when not even a minimal one fits).
 * Its `max_tokens` are capped to what the hold covers. A stream settles at its end, or when
 * its client leaves, for what the client received.
 */
export async function completeChat(
  caller: AiCaller,
  body: ChatCompletionBody,
  clientSignal: AbortSignal,
  options: ChatOptions = {},
): Promise<ChatOutcome> {
  const config = caller.config;
  const request = chatRequestOf(body);
  // Anthropic's API has no `n`, and self-hosted servers may ignore it: only OpenAI-API providers that honour it.
  const honoursN = (model: Model) =>
    request.n === 1 || (model.provider !== "anthropic" && model.provider !== "compatible");
  const deployments = deploymentsOf(config, body.model, capabilitiesNeeded(body));
  if (!honoursN(deployments[0] as Model)) {
    throw new AppError("validation_failed", `The model "${body.model}" answers one choice at a time (n = 1).`, {
      errors: [{ path: "body.n", message: "must be 1 for this model" }],
    });
  }
  // Fallbacks that cannot answer `n` choices are skipped.
  const usable = deployments.filter(honoursN);
  const estimatedInput = estimateInputTokens(request);
  const sizedFor = (availableMillicredits: number) =>
    budgetOf({
      deployments: usable,
      inputTokens: estimatedInput,
      requestedMaxTokens: body.max_completion_tokens ?? body.max_tokens ?? undefined,
      n: body.n ?? 1,
      availableMillicredits,
    });
  const signal = AbortSignal.any([clientSignal, AbortSignal.timeout(config.AI_TOTAL_TIMEOUT_MS)]);
  // When the work began, once held: every usage row's latency counts from it, a failed one's too.
  let started = Date.now();
  const runOf = (hold: Hold | null): Metered => ({
    caller,
    body,
    hold,
    estimatedInput,
    started,
    onFinish: options.onFinish,
  });
  // The sizing the hold was taken for: its `maxTokens` are what the hold covers.
  let sizing = sizedFor(Number.POSITIVE_INFINITY);
  try {
    const { result } = await withHold(caller, {
      payer: payerOf(caller),
      reference: holdReferenceOf(caller),
      ceiling: sizing.hold,
      fit: (available) => {
        sizing = sizedFor(available);
        return sizing.hold;
      },
      run: (held) => {
        started = Date.now();
        return answer(runOf(held), usable, { ...request, maxTokens: sizing.maxTokens }, signal);
      },
      measure: (outcome) => outcome.settlement,
      failed: () => finish(runOf(null), null, new Answer(), "failed", null).settlement,
    });
    return result.outcome;
  } catch (error) {
    if (signal.aborted && !clientSignal.aborted) {
      throw new AppError("provider_unavailable", "The provider did not finish within the time limit.");
    }
    throw error;
  }
}

/**
 * Reaches an upstream (retries and fallbacks before the first byte) and answers as JSON or as an
 * SSE stream, with the settlement of what the answer used (a promise for a stream).
 */
async function answer(
  run: Metered,
  deployments: Model[],
  full: Omit<ChatRequest, "model">,
  signal: AbortSignal,
): Promise<{ outcome: ChatOutcome; settlement: Settlement | Promise<Settlement> }> {
  const { caller, body } = run;
  const config = caller.config;
  const upstreamStarted = performance.now();
  const fallbacks = {
    logger: caller.logger,
    circuit: circuitSettingsOf(config),
    accountId: caller.account.id,
    sentFields: Object.keys(body),
  };
  const opened = await withFallbacks(deployments, signal, fallbacks, async (attempt) => {
    const started = await firstPart(config, attempt, full);
    if (body.stream) return { ...started, model: attempt.model, firstTokenAt: Date.now(), answer: null };
    // Not streamed: the whole answer is the attempt, so a break is retried like any failure.
    return { ...started, model: attempt.model, firstTokenAt: Date.now(), answer: await wholeAnswer(started) };
  });
  caller.timing("upstream", performance.now() - upstreamStarted);
  // The model that answered, as OpenAI names it: a fallback's own id.
  const envelope: Envelope = {
    id: `chatcmpl-${caller.callId}`,
    created: Math.floor(Date.now() / 1000),
    model: opened.model.id,
  };
  if (opened.answer) {
    const { usage, settlement } = finish(run, opened.model, opened.answer, "completed", opened.firstTokenAt);
    const outcome: ChatOutcome = {
      kind: "json",
      body: completion(envelope, opened.answer, usage),
      chargedMillicredits: usage.charged,
    };
    return { outcome, settlement };
  }
  let settled: (settlement: Settlement) => void = () => {};
  const settlement = new Promise<Settlement>((resolve) => {
    settled = resolve;
  });
  const stream = streamOf(run, opened, envelope, Boolean(body.stream_options?.include_usage), settled);
  return { outcome: { kind: "stream", stream }, settlement };
}

/**
 * The SSE stream of an opened answer. The client leaving cancels it, which aborts the upstream
 * at once; settling runs in `waitUntil` and charges what the client received.
 */
function streamOf(
  run: Metered,
  opened: {
    early: ChatPart[];
    first: ChatPart;
    rest: AsyncIterator<ChatPart>;
    abort: AbortController;
    relays: boolean;
    model: Model;
    firstTokenAt: number;
  },
  envelope: Envelope,
  includeUsage: boolean,
  settle: (settlement: Settlement) => void,
): ReadableStream<Uint8Array> {
  const answer = new Answer();
  const writer = new ChunkWriter(envelope);
  let settled = false;
  const settleOnce = (status: UsageStatus) => {
    if (settled) return null;
    settled = true;
    const finished = finish(run, opened.model, answer, status, opened.firstTokenAt);
    // After the end of the body has gone out: settling must not hold its last bytes back.
    setTimeout(() => settle(finished.settlement), 0);
    return finished.usage;
  };
  const pending = [...opened.early, opened.first];
  let cancelled = false;
  return new ReadableStream<Uint8Array>({
    // Reads parts until it has written something the client is not waiting for yet: at most
    // one write ahead of the client, so a client that leaves is charged for little it did not get.
    async pull(controller) {
      try {
        do {
          const part = pending.shift() ?? (await nextPart(opened.rest));
          if (part === null) {
            const usage = settleOnce("completed");
            controller.enqueue(writer.end(includeUsage ? usage : null));
            controller.close();
            return;
          }
          answer.add(part);
          // A provider that relays its chunks (chat/wire.ts) sends each after the parts read
          // from it: those are counted, its chunks written.
          if (part.type === "relay") controller.enqueue(writer.relay(part.chunks));
          else if (!opened.relays) for (const bytes of writer.part(part)) controller.enqueue(bytes);
        } while ((controller.desiredSize ?? 0) > 0);
      } catch (error) {
        // The client left while a part was awaited: `cancel` has settled already.
        if (cancelled) return;
        run.caller.logger.warn("ai stream broke after its first byte", {
          error: error instanceof Error ? error.message : String(error),
        });
        controller.enqueue(ChunkWriter.error("The provider's stream broke off; the answer is incomplete."));
        controller.close();
        settleOnce("incomplete");
      }
    },
    cancel() {
      cancelled = true;
      opened.abort.abort(new DOMException("the client went away", "AbortError"));
      settleOnce("incomplete");
    },
  });
}

async function nextPart(iterator: AsyncIterator<ChatPart>): Promise<ChatPart | null> {
  const next = await iterator.next();
  return next.done ? null : next.value;
}
