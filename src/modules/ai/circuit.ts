import type { Config } from "../../env";
import { clock } from "../../platform/clock";
import type { ProviderId } from "./registry";

/**
 * A circuit breaker per provider: after `threshold` consecutive failures the provider is
 * skipped (its deployments fall through to their fallbacks) until `cooldownMs` has passed;
 * then one request tries it (half-open): success closes the circuit, failure opens it again.
 *
 * Its state lives in the isolate's memory, on purpose. Each isolate learns a provider is down
 * from its own few failures, at no cost per request; a shared state (a Durable Object) would
 * add a round trip to every AI call to save each isolate those few failed attempts, and KV
 * cannot count. Losing the state (isolate eviction) only means learning again.
 */

type Circuit = { failures: number; openedAt: number | null; trialInFlight: boolean };

export type CircuitSettings = { threshold: number; cooldownMs: number };

export const circuitSettingsOf = (config: Config): CircuitSettings => ({
  threshold: config.AI_CIRCUIT_FAILURES,
  cooldownMs: config.AI_CIRCUIT_COOLDOWN_MS,
});

const circuits = new Map<ProviderId, Circuit>();

const circuitOf = (provider: ProviderId): Circuit => {
  let circuit = circuits.get(provider);
  if (!circuit) {
    circuit = { failures: 0, openedAt: null, trialInFlight: false };
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
  circuits.set(provider, { failures: 0, openedAt: null, trialInFlight: false });
}

export function recordFailure(provider: ProviderId, settings: CircuitSettings): void {
  const circuit = circuitOf(provider);
  circuit.failures += 1;
  if (circuit.trialInFlight || circuit.failures >= settings.threshold) {
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
