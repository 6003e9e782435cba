/**
 * What went wrong with an upstream (an AI, translation, document or meeting provider), in the
 * terms the resilience engine (`attempts.ts`) and the circuit decide by. Adapters throw it;
 * anything else they throw is ours, never retried nor counted against an upstream.
 */

export type UpstreamFault = {
  /**
   * The upstream, not the request, is at fault (429, 5xx, network, too slow, an answer that
   * fails validation): worth another attempt, here or at the next deployment.
   */
  retryable: boolean;
  /** The upstream's HTTP status, if it answered one. */
  status?: number;
  retryAfterMs?: number;
  /** The upstream could not be reached at all (no answer): never caused by the request's content. */
  unreachable?: boolean;
  /** A code of the upstream's refusal that its module may pass on to the client, in its own words. */
  code?: string;
  /** The request field the upstream's refusal named; the client sees it only if it sent that field. */
  param?: string;
  /** A bounded, redacted excerpt of what the upstream said: for logs, never for clients. */
  excerpt?: string;
};

/**
 * An upstream failure. Its message is ours (the upstream's label and what went wrong, no
 * upstream text) and is logged, never shown to a client.
 */
export class UpstreamError extends Error {
  readonly retryable: boolean;
  readonly status?: number;
  readonly retryAfterMs?: number;
  readonly unreachable: boolean;
  readonly code?: string;
  readonly param?: string;
  readonly excerpt?: string;

  constructor(message: string, fault: UpstreamFault) {
    super(message);
    this.name = "UpstreamError";
    this.retryable = fault.retryable;
    this.status = fault.status;
    this.retryAfterMs = fault.retryAfterMs;
    this.unreachable = fault.unreachable ?? false;
    this.code = fault.code;
    this.param = fault.param;
    this.excerpt = fault.excerpt;
  }

  /** An answer that failed validation (wrong types, impossible values): a fault of the upstream. */
  static invalidAnswer(label: string, what: string): UpstreamError {
    return new UpstreamError(`${label}: invalid answer: ${what}`, { retryable: true });
  }
}

/** Whether an HTTP status of an upstream is worth another attempt (here or at the next deployment). */
export const isRetryableStatus = (status: number) =>
  status === 408 || status === 409 || status === 429 || status >= 500;

/** `Retry-After` (seconds or an HTTP date) in milliseconds, if present and sane. */
export function retryAfterMs(headers: Headers | undefined, now: number = Date.now()): number | undefined {
  const value = headers?.get("retry-after");
  if (!value) return undefined;
  const seconds = Number(value);
  const ms = Number.isFinite(seconds) ? seconds * 1000 : Date.parse(value) - now;
  return Number.isFinite(ms) && ms >= 0 ? Math.min(ms, 60_000) : undefined;
}
