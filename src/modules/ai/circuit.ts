import type { Config } from "../../env";
import { clock } from "../../platform/clock";
import type { ProviderId } from "./registry";

/**
 * A circuit breaker per provider: after `threshold` failed requests in a row the provider is
 * skipped (its deployments fall through to their fallbacks) until `cooldownMs` has passed;
 * then one request tries it (half-open): success closes the circuit, failure opens it again.
 *
 * One tenant must not be able to open it for everyone, so what and who counts is narrow
 * (`withFallbacks` applies the first two rules, this file the last):
 * - only faults of the provider count: it could not be reached, was too slow, answered 429 or
 *   5xx, refused our credentials or model name, or sent an answer that failed validation; its
 *   refusal of the request's own content (other 4xx) and our own errors never count, and a
 *   request counts at most once per provider, however many attempts it made;
 * - a failure the request's content could have caused (anything but unreachable, 401, 403,
 *   404, 503 and 529) is charged to the request, not the provider, when the provider (or, for a
 *   request that failed everywhere, any provider it failed on) served another account within
 *   the cool-down: the provider works, the body is what failed;
 * - the circuit opens only when the run of failures comes from at least `MIN_ACCOUNTS`
 *   accounts, each counted for at most its share (`threshold / MIN_ACCOUNTS`, rounded up): one
 *   account failing alone, however often, cannot open it.
 *
 * Its state lives in the isolate's memory, on purpose. Each isolate learns a provider is down
 * from its own few failures, at no cost per request; a shared state (a Durable Object) would
 * add a round trip to every AI call to save each isolate those few failed attempts, and KV
 * cannot count. Losing the state (isolate eviction) only means learning again.
 */

/** Distinct accounts among a run of failures before a circuit may open. */
export const MIN_ACCOUNTS = 3;
/** Accounts whose latest success a circuit remembers (to tell a working provider from a broken one). */
const SERVED_REMEMBERED = 8;

type Circuit = {
  /** The current run of failed requests, by account. */
  failures: Map<string, number>;
  openedAt: number | null;
  trialInFlight: boolean;
  /** When the provider last served each of a few accounts: kept across openings and closings. */
  served: Map<string, number>;
};

export type CircuitSettings = { threshold: number; cooldownMs: number };

export const circuitSettingsOf = (config: Config): CircuitSettings => ({
  threshold: config.AI_CIRCUIT_FAILURES,
  cooldownMs: config.AI_CIRCUIT_COOLDOWN_MS,
});

const circuits = new Map<ProviderId, Circuit>();

const circuitOf = (provider: ProviderId): Circuit => {
  let circuit = circuits.get(provider);
  if (!circuit) {
    circuit = { failures: new Map(), openedAt: null, trialInFlight: false, served: new Map() };
    circuits.set(provider, circuit);
  }
  return circuit;
};

/**
 * Whether a request may go to the provider now: `"closed"` (freely), `"trial"` (the one
 * half-open attempt, which only its holder may abandon), or null (the circuit is open).
 */
export function admit(provider: ProviderId, settings: CircuitSettings): "closed" | "trial" | null {
  const circuit = circuitOf(provider);
  if (circuit.openedAt === null) return "closed";
  if (circuit.trialInFlight || clock.now() - circuit.openedAt < settings.cooldownMs) return null;
  circuit.trialInFlight = true;
  return "trial";
}

/** The provider answered a request of `accountId` (or refused its content): the circuit closes. */
export function recordSuccess(provider: ProviderId, accountId: string): void {
  const circuit = circuitOf(provider);
  circuit.failures.clear();
  circuit.openedAt = null;
  circuit.trialInFlight = false;
  circuit.served.delete(accountId);
  circuit.served.set(accountId, clock.now());
  if (circuit.served.size > SERVED_REMEMBERED) circuit.served.delete(circuit.served.keys().next().value as string);
}

/** Whether the provider served an account other than `accountId` within the cool-down. */
export function servedOthersRecently(provider: ProviderId, accountId: string, settings: CircuitSettings): boolean {
  for (const [account, at] of circuitOf(provider).served) {
    if (account !== accountId && clock.now() - at <= settings.cooldownMs) return true;
  }
  return false;
}

/**
 * A request of `accountId` found the provider at fault. The failed half-open trial of the
 * request that held it opens the circuit again (its opening met the accounts rule); otherwise
 * it opens once the run is long enough, counting each account for at most its share, and spread
 * over enough accounts.
 */
export function recordFailure(provider: ProviderId, settings: CircuitSettings, accountId: string, heldTrial: boolean) {
  const circuit = circuitOf(provider);
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
export function abandonTrial(provider: ProviderId): void {
  circuitOf(provider).trialInFlight = false;
}

/** Milliseconds until the first open circuit among these half-opens (for `Retry-After`). */
export function msUntilTrial(providers: readonly ProviderId[], settings: CircuitSettings): number {
  const waits = providers.map((provider) => {
    const openedAt = circuitOf(provider).openedAt;
    return openedAt === null ? 0 : Math.max(0, openedAt + settings.cooldownMs - clock.now());
  });
  return Math.min(...waits);
}

/** For tests: every circuit closed. */
export function resetCircuits(): void {
  circuits.clear();
}
