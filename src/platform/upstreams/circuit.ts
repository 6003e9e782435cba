import { clock } from "../clock";

/**
 * A circuit breaker per upstream (its key: `ai:openai`, `translate:deepl`): after `threshold`
 * failed requests in a row the upstream is skipped (the next in the caller's order is tried)
 * until `cooldownMs` has passed; then one request tries it (half-open): success closes the
 * circuit, failure opens it again.
 *
 * One tenant must not be able to open it for everyone, so what and who counts is narrow
 * (`attemptUpstreams` applies the first two rules, this file the last):
 * - only faults of the upstream count: it could not be reached, was too slow, answered 429 or
 *   5xx, refused our credentials or the deployment (401, 403, 404), or sent an answer that failed validation; its
 *   refusal of the request's own content (other 4xx) and our own errors never count, and a
 *   request counts at most once per upstream, however many attempts it made;
 * - a failure the request's content could have caused (anything but unreachable, 401, 403,
 *   404, 503 and 529) is charged to the request, not the upstream, when the upstream (or, for a
 *   request that failed everywhere, any upstream it failed on) served another account within
 *   the cool-down: the upstream works, the body is what failed;
 * - the circuit opens only when the run of failures comes from at least `MIN_ACCOUNTS`
 *   accounts, each counted for at most its share (`threshold / MIN_ACCOUNTS`, rounded up): one
 *   account failing alone, however often, cannot open it.
 *
 * Its state lives in the isolate's memory, on purpose. Each isolate learns an upstream is down
 * from its own few failures, at no cost per request; a shared state (a Durable Object) would
 * add a round trip to every upstream call to save each isolate those few failed attempts, and KV
 * cannot count. Losing the state (isolate eviction) only means learning again.
 */

/** Distinct accounts among a run of failures before a circuit may open. */
export const MIN_ACCOUNTS = 3;
/** Accounts whose latest success a circuit remembers (to tell a working upstream from a broken one). */
const SERVED_REMEMBERED = 8;

type Circuit = {
  /** The current run of failed requests, by account. */
  failures: Map<string, number>;
  openedAt: number | null;
  trialInFlight: boolean;
  /** When the upstream last served each of a few accounts: kept across openings and closings. */
  served: Map<string, number>;
};

export type CircuitSettings = { threshold: number; cooldownMs: number };

const circuits = new Map<string, Circuit>();

const circuitOf = (key: string): Circuit => {
  let circuit = circuits.get(key);
  if (!circuit) {
    circuit = { failures: new Map(), openedAt: null, trialInFlight: false, served: new Map() };
    circuits.set(key, circuit);
  }
  return circuit;
};

/**
 * Whether a request may go to the upstream now: `"closed"` (freely), `"trial"` (the one
 * half-open attempt, which only its holder may abandon), or null (the circuit is open).
 */
export function admit(key: string, settings: CircuitSettings): "closed" | "trial" | null {
  const circuit = circuitOf(key);
  if (circuit.openedAt === null) return "closed";
  if (circuit.trialInFlight || clock.now() - circuit.openedAt < settings.cooldownMs) return null;
  circuit.trialInFlight = true;
  return "trial";
}

/** The provider answered a request of `accountId` (or refused its content): the circuit closes. */
export function recordSuccess(key: string, accountId: string): void {
  const circuit = circuitOf(key);
  circuit.failures.clear();
  circuit.openedAt = null;
  circuit.trialInFlight = false;
  circuit.served.delete(accountId);
  circuit.served.set(accountId, clock.now());
  if (circuit.served.size > SERVED_REMEMBERED) circuit.served.delete(circuit.served.keys().next().value as string);
}

/** Whether the upstream served an account other than `accountId` within the cool-down. */
export function servedOthersRecently(key: string, accountId: string, settings: CircuitSettings): boolean {
  for (const [account, at] of circuitOf(key).served) {
    if (account !== accountId && clock.now() - at <= settings.cooldownMs) return true;
  }
  return false;
}

/**
 * A request of `accountId` found the upstream at fault. The failed half-open trial of the
 * request that held it opens the circuit again (its opening met the accounts rule); otherwise
 * it opens once the run is long enough, counting each account for at most its share, and spread
 * over enough accounts.
 */
export function recordFailure(key: string, settings: CircuitSettings, accountId: string, heldTrial: boolean) {
  const circuit = circuitOf(key);
  if (heldTrial) {
    circuit.openedAt = clock.now();
    circuit.trialInFlight = false;
    return;
  }
  if (circuit.openedAt !== null) return;
  circuit.failures.set(accountId, (circuit.failures.get(accountId) ?? 0) + 1);
  const share = Math.ceil(settings.threshold / MIN_ACCOUNTS);
  let counted = 0;
  for (const failures of circuit.failures.values()) counted += Math.min(failures, share);
  if (circuit.failures.size >= MIN_ACCOUNTS && counted >= settings.threshold) circuit.openedAt = clock.now();
}

/** The holder of a half-open trial that ended neither way (the client left): the next request may try. */
export function abandonTrial(key: string): void {
  circuitOf(key).trialInFlight = false;
}

/** Milliseconds until the first open circuit among these half-opens (for `Retry-After`). */
export function msUntilTrial(keys: readonly string[], settings: CircuitSettings): number {
  const waits = keys.map((key) => {
    const openedAt = circuitOf(key).openedAt;
    return openedAt === null ? 0 : Math.max(0, openedAt + settings.cooldownMs - clock.now());
  });
  return Math.min(...waits);
}

/** For tests: every circuit closed. */
export function resetCircuits(): void {
  circuits.clear();
}
