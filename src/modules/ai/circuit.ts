import type { Config } from "../../env";
import { clock } from "../../platform/clock";
import type { ProviderId } from "./registry";

/**
 * A circuit breaker per provider: after `threshold` consecutive failures the provider is
 * skipped (its deployments fall through to their fallbacks) until `cooldownMs` has passed;
 * then one request tries it (half-open): success closes the circuit, failure opens it again.
 *
 * One tenant must not be able to open it for everyone, so what and who counts is narrow:
 * - only faults of the provider count: it could not be reached, was too slow, answered 429 or
 *   5xx, refused our credentials or model name, or sent an answer that failed validation.
 *   Its refusal of the request's own content (other 4xx) and our own errors never count
 *   (`withFallbacks` decides, and records at most one failure per provider per request);
 * - the circuit opens only when the consecutive failures come from at least `MIN_ACCOUNTS`
 *   accounts (or `threshold`, if lower): one account failing alone, however often, cannot open it;
 * - a request that failed on every deployment across two or more providers, though each was
 *   reached, is charged to the request (its body is what the failures had in common), not to
 *   any provider (see `withFallbacks`).
 *
 * Its state lives in the isolate's memory, on purpose. Each isolate learns a provider is down
 * from its own few failures, at no cost per request; a shared state (a Durable Object) would
 * add a round trip to every AI call to save each isolate those few failed attempts, and KV
 * cannot count. Losing the state (isolate eviction) only means learning again.
 */

/** Distinct accounts among the consecutive failures before a circuit may open. */
export const MIN_ACCOUNTS = 3;

type Circuit = { failures: number; accounts: Set<string>; openedAt: number | null; trialInFlight: boolean };

export type CircuitSettings = { threshold: number; cooldownMs: number };

export const circuitSettingsOf = (config: Config): CircuitSettings => ({
  threshold: config.AI_CIRCUIT_FAILURES,
  cooldownMs: config.AI_CIRCUIT_COOLDOWN_MS,
});

const circuits = new Map<ProviderId, Circuit>();

const closedCircuit = (): Circuit => ({ failures: 0, accounts: new Set(), openedAt: null, trialInFlight: false });

const circuitOf = (provider: ProviderId): Circuit => {
  let circuit = circuits.get(provider);
  if (!circuit) {
    circuit = closedCircuit();
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

export function recordSuccess(provider: ProviderId): void {
  circuits.set(provider, closedCircuit());
}

/**
 * A request of `accountId` found the provider at fault. A failed trial opens the circuit again
 * (its opening already met the accounts rule); otherwise it opens once the run of failures is
 * long enough and spread over enough accounts.
 */
export function recordFailure(provider: ProviderId, settings: CircuitSettings, accountId: string): void {
  const circuit = circuitOf(provider);
  circuit.failures += 1;
  circuit.accounts.add(accountId);
  const enoughAccounts = circuit.accounts.size >= Math.min(MIN_ACCOUNTS, settings.threshold);
  if (circuit.trialInFlight || (circuit.failures >= settings.threshold && enoughAccounts)) {
    circuit.openedAt = clock.now();
    circuit.trialInFlight = false;
  }
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
