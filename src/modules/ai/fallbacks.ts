import type { Config } from "../../env";
import { AppError, type ErrorCode, type FieldError } from "../../platform/errors";
import type { Logger } from "../../platform/logger";
import { attemptUpstreams, within as withinMs } from "../../platform/upstreams/attempts";
import type { CircuitSettings } from "../../platform/upstreams/circuit";
import type { UpstreamError } from "../../platform/upstreams/error";
import { PASSED_ON_CODES, type PassedOnCode } from "./providers/types";
import type { Model } from "./registry";

/**
 * Reaching an upstream, for every AI endpoint, through the platform's resilience engine: each
 * deployment of the requested model in turn (its fallbacks after it), retried and skipped by
 * circuit as `attemptUpstreams` does. All of it happens before the client has a byte; after the
 * first byte nothing is retried (a stream ends with an error instead). What is the AI module's
 * own: an upstream's refusal of the request is the client's 400 at once, in our words.
 */

export type Attempt = { model: Model; signal: AbortSignal; started: number };

type FallbackContext = {
  logger: Logger;
  circuit: CircuitSettings;
  /** The paying account: circuits open only on failures of several accounts. */
  accountId: string;
  /** The top-level fields the client sent: an upstream's refusal may name one of them back. */
  sentFields?: readonly string[];
};

export const circuitSettingsOf = (config: Config): CircuitSettings => ({
  threshold: config.AI_CIRCUIT_FAILURES,
  cooldownMs: config.AI_CIRCUIT_COOLDOWN_MS,
});

/** Our words for the upstream refusals a client may learn the reason of. */
const REFUSALS: Record<PassedOnCode, string> = {
  context_length_exceeded:
    "The request is longer than the model's context window: shorten the messages or lower max_tokens.",
  content_filter: "The provider's content policy refused this request.",
  invalid_image: "The provider could not use an image of this request.",
};

const isPassedOn = (code: string | undefined): code is PassedOnCode =>
  (PASSED_ON_CODES as readonly string[]).includes(code ?? "");

/**
 * The client's 400 for an upstream's refusal of its request: our own words, the upstream's code
 * when it is a known one, and the top-level field it named when the client sent that field: the
 * client's own name for it, never the rest of the upstream's string.
 */
function refusalOf(error: UpstreamError, sentFields: readonly string[]): AppError {
  const passedOn = isPassedOn(error.code) ? error.code : undefined;
  const code: ErrorCode = passedOn ?? "validation_failed";
  const detail = passedOn ? REFUSALS[passedOn] : "The provider refused this request as invalid.";
  const named = error.param?.split(/[.[]/)[0];
  const field = sentFields.find((sent) => sent === named);
  const errors: FieldError[] | undefined = field
    ? [{ path: `body.${field}`, message: "refused by the provider" }]
    : undefined;
  return new AppError(code, detail, { ...(errors ? { errors } : {}), cause: error });
}

/**
 * Runs `work` against each deployment until one succeeds; `work` gets the attempt's signal,
 * which the first-token timeout and the caller's `signal` (client gone, total timeout) abort.
 * 503 `provider_unavailable` with `Retry-After` when none could answer.
 */
export function withFallbacks<T>(
  deployments: readonly Model[],
  signal: AbortSignal,
  context: FallbackContext,
  work: (attempt: Attempt) => Promise<T>,
): Promise<T> {
  const targets = deployments.map((model) => ({ model, circuit: `ai:${model.provider}`, name: model.id }));
  return attemptUpstreams(
    targets,
    {
      kind: "ai",
      logger: context.logger,
      circuit: context.circuit,
      accountId: context.accountId,
      signal,
      refused: (error) => refusalOf(error, context.sentFields ?? []),
      unavailable: (waitMs, last) =>
        new AppError("provider_unavailable", "No provider could answer this request; try again shortly.", {
          headers: { "retry-after": String(Math.max(1, Math.ceil(waitMs / 1000))) },
          cause: last,
        }),
    },
    ({ deployment, ...attempt }) => work({ ...attempt, model: deployment.model }),
  );
}

/**
 * One upstream call of an attempt, at most `ms` until it answers: too slow is a retryable
 * failure. The timer stops once it answers, so a body still streaming (speech) is not cut.
 */
export const within = <T>(ms: number, attempt: Attempt, call: (signal: AbortSignal) => Promise<T>) =>
  withinMs(ms, { signal: attempt.signal, name: attempt.model.provider }, call);
