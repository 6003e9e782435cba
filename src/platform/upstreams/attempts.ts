import type { Logger } from "../logger";
import {
  abandonTrial,
  admit,
  type CircuitSettings,
  msUntilTrial,
  recordFailure,
  recordSuccess,
  servedOthersRecently,
} from "./circuit";
import { UpstreamError } from "./error";

/**
 * The one resilience engine, for every upstream (AI providers, translation providers, those to
 * come): each deployment in the caller's order, each tried up to `attempts` times on retryable
 * failures (429, 5xx, network, too slow, an invalid answer) with exponential backoff and jitter
 * or the upstream's `Retry-After`, skipping upstreams whose circuit is open (circuit.ts). Only
 * UpstreamErrors are the upstream's: anything else thrown is ours, goes straight to the caller
 * and is never retried or counted against an upstream.
 */

/** Attempts per deployment when it does not say otherwise. */
const ATTEMPTS_PER_DEPLOYMENT = 3;
const BACKOFF_BASE_MS = 100;
/** A longer `Retry-After` than this moves on to the next deployment instead of waiting. */
const MAX_WAIT_MS = 2_000;

/** One place an upstream call may go. */
export type Deployment = {
  /** Its circuit (`ai:openai`, `translate:deepl`): deployments of one upstream share it. */
  circuit: string;
  /** How it is named in logs. */
  name: string;
  /** Attempts before moving on; 1 for an upstream that retries inside itself. */
  attempts?: number;
};

export type Attempt<D> = { deployment: D; signal: AbortSignal; started: number };

export type UpstreamPolicy = {
  /** What the logs call these upstreams (`ai`, `translation`). */
  kind: string;
  logger: Logger;
  circuit: CircuitSettings;
  /** The paying account: circuits open only on failures of several accounts. */
  accountId: string;
  /** The caller's signal (client gone, total timeout): no attempt starts after it, a wait ends. */
  signal: AbortSignal;
  /**
   * An upstream refused the request itself (any other 4xx): the error to answer now, or null to
   * try the next deployment (another provider may take what this one lacks).
   */
  refused(error: UpstreamError): Error | null;
  /** The error when every deployment refused the request and none failed. */
  everyoneRefused?: () => Error;
  /** The error when no deployment could answer, given how long to wait before trying again. */
  unavailable(retryAfterMs: number, last: UpstreamError | undefined): Error;
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

/** Failures no request content causes: the upstream cannot be reached, refuses our credentials or deployment, or is overloaded. */
const BLIND_TO_CONTENT = new Set([401, 403, 404, 503, 529]);
const contentMayCause = (error: UpstreamError) =>
  !error.unreachable && !(error.status !== undefined && BLIND_TO_CONTENT.has(error.status));

/**
 * What a request's failures say about its upstreams, once it is over (see circuit.ts): each
 * circuit that failed it counts one failure, unless the content could have caused it and the
 * upstream (or, for a request that failed everywhere, any upstream it failed on) served another
 * account lately: then the request is to blame. A half-open trial this request held and that
 * did not end in a counted failure is given up.
 */
function countFailures(
  failures: Map<string, UpstreamError>,
  trials: Set<string>,
  succeeded: boolean,
  policy: UpstreamPolicy,
) {
  const { circuit, accountId } = policy;
  const working = (key: string, error: UpstreamError) =>
    contentMayCause(error) && servedOthersRecently(key, accountId, circuit);
  const anyWorking = !succeeded && [...failures].some(([key, error]) => working(key, error));
  for (const [key, error] of failures) {
    if (contentMayCause(error) && (anyWorking || working(key, error))) {
      policy.logger.warn(
        `${policy.kind} request failed where its upstream works for others: counted against the request`,
        {
          circuit: key,
          status: error.status,
        },
      );
      continue;
    }
    recordFailure(key, circuit, accountId, trials.has(key));
    trials.delete(key);
  }
  for (const key of trials) abandonTrial(key);
}

/**
 * Runs `work` against each deployment until one succeeds; `work` gets the attempt's signal (the
 * caller's). Deployments whose circuit is open are skipped; a deployment whose credentials or
 * name the upstream refuses (401, 403, 404) is skipped too. Any other refusal goes to
 * `policy.refused`.
 */
export async function attemptUpstreams<D extends Deployment, T>(
  deployments: readonly D[],
  policy: UpstreamPolicy,
  work: (attempt: Attempt<D>) => Promise<T>,
): Promise<T> {
  const { logger, circuit, signal } = policy;
  let last: UpstreamError | undefined;
  const failures = new Map<string, UpstreamError>();
  const trials = new Set<string>();
  const answered = (key: string) => {
    failures.delete(key);
    trials.delete(key);
    recordSuccess(key, policy.accountId);
  };
  let succeeded = false;
  let refusals = 0;
  try {
    for (const deployment of deployments) {
      const attempts = deployment.attempts ?? ATTEMPTS_PER_DEPLOYMENT;
      for (let attempt = 0; attempt < attempts; attempt++) {
        const admission = admit(deployment.circuit, circuit);
        if (!admission) break;
        if (admission === "trial") trials.add(deployment.circuit);
        try {
          signal.throwIfAborted();
          const result = await work({ deployment, signal, started: Date.now() });
          succeeded = true;
          answered(deployment.circuit);
          return result;
        } catch (error) {
          if (!(error instanceof UpstreamError)) throw error;
          const deploymentFault = error.status !== undefined && DEPLOYMENT_FAULTS.has(error.status);
          if (!error.retryable && !deploymentFault) {
            // It answered: the upstream is up, the request is the problem.
            logger.info(`${policy.kind} upstream refused the request`, {
              deployment: deployment.name,
              status: error.status,
              code: error.code,
              upstream: error.excerpt,
            });
            answered(deployment.circuit);
            const refusal = policy.refused(error);
            if (refusal) throw refusal;
            refusals += 1;
            break;
          }
          failures.set(deployment.circuit, error);
          last = error;
          logger.warn(`${policy.kind} upstream failed`, {
            deployment: deployment.name,
            attempt,
            status: error.status,
            error: error.message,
            upstream: error.excerpt,
          });
          const wait = error.retryAfterMs ?? backoff(attempt);
          if (deploymentFault || wait > MAX_WAIT_MS || attempt === attempts - 1) break;
          await sleep(wait, signal);
        }
      }
    }
  } finally {
    countFailures(failures, trials, succeeded, policy);
  }
  if (policy.everyoneRefused && deployments.length > 0 && refusals === deployments.length) {
    throw policy.everyoneRefused();
  }
  const waitMs = last
    ? (last.retryAfterMs ?? 5_000)
    : msUntilTrial([...new Set(deployments.map((d) => d.circuit))], circuit);
  throw policy.unavailable(waitMs, last);
}

/**
 * One upstream call of an attempt, at most `ms` until it answers: too slow is a retryable
 * failure. The timer stops once it answers, so a body still streaming (speech) is not cut.
 */
export async function within<T>(
  ms: number,
  attempt: { signal: AbortSignal; name: string },
  call: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const timeout = new AbortController();
  const tooSlow = () => new UpstreamError(`${attempt.name}: no answer within ${ms} ms`, { retryable: true });
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
