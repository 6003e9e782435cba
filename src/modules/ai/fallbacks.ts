import { AppError, type ErrorCode, type FieldError } from "../../platform/errors";
import type { Logger } from "../../platform/logger";
import {
  abandonTrial,
  admit,
  type CircuitSettings,
  msUntilTrial,
  recordFailure,
  recordSuccess,
  servedOthersRecently,
} from "./circuit";
import { type PassedOnCode, ProviderError } from "./providers/types";
import type { Model, ProviderId } from "./registry";

/**
 * Reaching an upstream, for every AI endpoint: each deployment of the requested model in turn,
 * each tried up to three times on retryable failures (429, 5xx, network, too slow, an invalid
 * answer) with exponential backoff and jitter, skipping providers whose circuit is open. All of
 * it happens before the client has a byte; after the first byte nothing is retried (a stream
 * ends with an error instead). Only ProviderErrors are the upstream's: anything else thrown is
 * ours, goes straight to the caller and is never retried or counted against a provider.
 */

const ATTEMPTS_PER_DEPLOYMENT = 3;
const BACKOFF_BASE_MS = 100;
/** A longer `Retry-After` than this moves on to the next deployment instead of waiting. */
const MAX_WAIT_MS = 2_000;

export type Attempt = { model: Model; signal: AbortSignal; started: number };

export type FallbackContext = {
  logger: Logger;
  circuit: CircuitSettings;
  /** The paying account: circuits open only on failures of several accounts. */
  accountId: string;
  /** The top-level fields the client sent: an upstream's refusal may name one of them back. */
  sentFields?: readonly string[];
};

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => {
      clearTimeout(timer);
      reject(signal.reason);
    });
  });

const backoff = (attempt: number) => BACKOFF_BASE_MS * 2 ** attempt * (0.5 + Math.random());

/** Statuses that condemn the deployment, not the request: its key, its model name. */
const DEPLOYMENT_FAULTS = new Set([401, 403, 404]);

/** Our words for the upstream refusals a client may learn the reason of. */
const REFUSALS: Record<PassedOnCode, string> = {
  context_length_exceeded:
    "The request is longer than the model's context window: shorten the messages or lower max_tokens.",
  content_filter: "The provider's content policy refused this request.",
  invalid_image: "The provider could not use an image of this request.",
};

/**
 * The client's 400 for an upstream's refusal of its request: our own words, the upstream's code
 * when it is a known one, and the top-level field it named when the client sent that field: the
 * client's own name for it, never the rest of the upstream's string.
 */
function refusalOf(error: ProviderError, sentFields: readonly string[]): AppError {
  const code: ErrorCode = error.code ?? "validation_failed";
  const detail = error.code ? REFUSALS[error.code] : "The provider refused this request as invalid.";
  const named = error.param?.split(/[.[]/)[0];
  const field = sentFields.find((sent) => sent === named);
  const errors: FieldError[] | undefined = field
    ? [{ path: `body.${field}`, message: "refused by the provider" }]
    : undefined;
  return new AppError(code, detail, { ...(errors ? { errors } : {}), cause: error });
}

/** Failures no request content causes: the provider cannot be reached, refuses our credentials or model name, or is overloaded. */
const BLIND_TO_CONTENT = new Set([401, 403, 404, 503, 529]);
const contentMayCause = (error: ProviderError) =>
  !error.unreachable && !(error.status !== undefined && BLIND_TO_CONTENT.has(error.status));

/**
 * What a request's failures say about its providers, once it is over (see circuit.ts): each
 * provider that failed it counts one failure, unless the content could have caused it and the
 * provider (or, for a request that failed everywhere, any provider it failed on) served another
 * account lately: then the request is to blame. A half-open trial this request held and that
 * did not end in a counted failure is given up.
 */
function countFailures(
  failures: Map<ProviderId, ProviderError>,
  trials: Set<ProviderId>,
  succeeded: boolean,
  context: FallbackContext,
) {
  const { circuit, accountId } = context;
  const working = (provider: ProviderId, error: ProviderError) =>
    contentMayCause(error) && servedOthersRecently(provider, accountId, circuit);
  const anyWorking = !succeeded && [...failures].some(([provider, error]) => working(provider, error));
  for (const [provider, error] of failures) {
    if (contentMayCause(error) && (anyWorking || working(provider, error))) {
      context.logger.warn("ai request failed where its provider works for others: counted against the request", {
        provider,
        status: error.status,
      });
      continue;
    }
    recordFailure(provider, circuit, accountId, trials.has(provider));
    trials.delete(provider);
  }
  for (const provider of trials) abandonTrial(provider);
}

/**
 * Runs `work` against each deployment until one succeeds; `work` gets the attempt's signal,
 * which the first-token timeout and the caller's `signal` (client gone, total timeout) abort.
 * Deployments whose provider's circuit is open are skipped; a deployment whose credentials or
 * model name the provider refuses is skipped too. Any other refusal is the client's 400.
 */
export async function withFallbacks<T>(
  deployments: readonly Model[],
  signal: AbortSignal,
  context: FallbackContext,
  work: (attempt: Attempt) => Promise<T>,
): Promise<T> {
  let last: ProviderError | undefined;
  const { logger, circuit } = context;
  const failures = new Map<ProviderId, ProviderError>();
  const trials = new Set<ProviderId>();
  let succeeded = false;
  try {
    for (const model of deployments) {
      for (let attempt = 0; attempt < ATTEMPTS_PER_DEPLOYMENT; attempt++) {
        const admission = admit(model.provider, circuit);
        if (!admission) break;
        if (admission === "trial") trials.add(model.provider);
        try {
          signal.throwIfAborted();
          const result = await work({ model, signal, started: Date.now() });
          succeeded = true;
          failures.delete(model.provider);
          trials.delete(model.provider);
          recordSuccess(model.provider, context.accountId);
          return result;
        } catch (error) {
          if (!(error instanceof ProviderError)) throw error;
          const deploymentFault = error.status !== undefined && DEPLOYMENT_FAULTS.has(error.status);
          if (!error.retryable && !deploymentFault) {
            // It answered: the provider is up, the request is the problem.
            logger.info("ai upstream refused the request", {
              model: model.id,
              status: error.status,
              code: error.code,
              upstream: error.excerpt,
            });
            failures.delete(model.provider);
            trials.delete(model.provider);
            recordSuccess(model.provider, context.accountId);
            throw refusalOf(error, context.sentFields ?? []);
          }
          failures.set(model.provider, error);
          last = error;
          logger.warn("ai upstream failed", {
            model: model.id,
            attempt,
            status: error.status,
            error: error.message,
            upstream: error.excerpt,
          });
          const wait = error.retryAfterMs ?? backoff(attempt);
          if (deploymentFault || wait > MAX_WAIT_MS || attempt === ATTEMPTS_PER_DEPLOYMENT - 1) break;
          await sleep(wait, signal);
        }
      }
    }
  } finally {
    countFailures(failures, trials, succeeded, context);
  }
  const providers = deployments.map((model) => model.provider);
  const waitMs = last ? (last.retryAfterMs ?? 5_000) : msUntilTrial(providers, circuit);
  throw new AppError("provider_unavailable", "No provider could answer this request; try again shortly.", {
    headers: { "retry-after": String(Math.max(1, Math.ceil(waitMs / 1000))) },
    cause: last,
  });
}

/**
 * One upstream call of an attempt, at most `ms` until it answers: too slow is a retryable
 * failure. The timer stops once it answers, so a body still streaming (speech) is not cut.
 */
export async function within<T>(ms: number, attempt: Attempt, call: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const timeout = new AbortController();
  const tooSlow = () => new ProviderError(`${attempt.model.provider}: no answer within ${ms} ms`, { retryable: true });
  const timer = setTimeout(() => timeout.abort(tooSlow()), ms);
  try {
    return await call(AbortSignal.any([attempt.signal, timeout.signal]));
  } catch (error) {
    if (timeout.signal.aborted) throw tooSlow();
    throw error;
  } finally {
    clearTimeout(timer);
  }
}
