import { AppError } from "../../platform/errors";
import type { Logger } from "../../platform/logger";
import { abandonTrial, admit, type CircuitSettings, msUntilTrial, recordFailure, recordSuccess } from "./circuit";
import { ProviderError } from "./providers/types";
import type { Model } from "./registry";

/**
 * Reaching an upstream, for every AI endpoint: each deployment of the requested model in turn,
 * each tried up to three times on retryable failures (429, 5xx, network, too slow) with
 * exponential backoff and jitter, skipping providers whose circuit is open. All of it happens
 * before the client has a byte; after the first byte nothing is retried (a stream ends with an
 * error instead).
 */

const ATTEMPTS_PER_DEPLOYMENT = 3;
const BACKOFF_BASE_MS = 100;
/** A longer `Retry-After` than this moves on to the next deployment instead of waiting. */
const MAX_WAIT_MS = 2_000;

export type Attempt = { model: Model; signal: AbortSignal; started: number };

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

/**
 * Runs `work` against each deployment until one succeeds; `work` gets the attempt's signal,
 * which the first-token timeout and the caller's `signal` (client gone, total timeout) abort.
 * Deployments whose provider's circuit is open are skipped; a deployment whose credentials or
 * model name the provider refuses is skipped too. Any other refusal is the client's 400.
 */
export async function withFallbacks<T>(
  deployments: readonly Model[],
  signal: AbortSignal,
  context: { logger: Logger; circuit: CircuitSettings },
  work: (attempt: Attempt) => Promise<T>,
): Promise<T> {
  let last: ProviderError | undefined;
  const { logger, circuit } = context;
  for (const model of deployments) {
    for (let attempt = 0; attempt < ATTEMPTS_PER_DEPLOYMENT; attempt++) {
      const admission = admit(model.provider, circuit);
      if (!admission) break;
      try {
        signal.throwIfAborted();
        const result = await work({ model, signal, started: Date.now() });
        recordSuccess(model.provider);
        return result;
      } catch (error) {
        if (!(error instanceof ProviderError)) {
          if (admission === "trial") abandonTrial(model.provider);
          throw error;
        }
        const deploymentFault = error.status !== undefined && DEPLOYMENT_FAULTS.has(error.status);
        if (!error.retryable && !deploymentFault) {
          // It answered: the provider is up, the request is the problem.
          recordSuccess(model.provider);
          throw new AppError("validation_failed", `The provider refused the request: ${error.message}`);
        }
        recordFailure(model.provider, circuit);
        last = error;
        logger.warn("ai upstream failed", { model: model.id, attempt, status: error.status, error: error.message });
        const wait = error.retryAfterMs ?? backoff(attempt);
        if (deploymentFault || wait > MAX_WAIT_MS || attempt === ATTEMPTS_PER_DEPLOYMENT - 1) break;
        await sleep(wait, signal);
      }
    }
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
  const timer = setTimeout(() => timeout.abort(new ProviderError("too slow", true)), ms);
  try {
    return await call(AbortSignal.any([attempt.signal, timeout.signal]));
  } catch (error) {
    if (timeout.signal.aborted) throw new ProviderError(`${attempt.model.provider}: no answer within ${ms} ms`, true);
    throw error;
  } finally {
    clearTimeout(timer);
  }
}
