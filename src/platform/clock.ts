/**
 * The one clock of Stratus. Everything that reads "now" (expiry, windows, periods) goes
 * through it so tests can move time instead of sleeping. Production never moves it: the
 * test controls below are only called from tests, which share the Worker's isolate.
 */

/** Durations in milliseconds, the unit of every timestamp in storage. */
export const MINUTE_MS = 60_000;
export const HOUR_MS = 60 * MINUTE_MS;
export const DAY_MS = 24 * HOUR_MS;

let offsetMs = 0;
let frozenAt: number | undefined;

export const clock = {
  /** Epoch milliseconds. */
  now(): number {
    return frozenAt ?? Date.now() + offsetMs;
  },
  /** ISO 8601 UTC, the form JSON answers use. */
  iso(epochMs: number = clock.now()): string {
    return new Date(epochMs).toISOString();
  },
};

export const testClock = {
  /** Moves time forward (or back, with a negative value) and keeps it running. */
  advance(ms: number): void {
    if (frozenAt !== undefined) frozenAt += ms;
    else offsetMs += ms;
  },
  /** Stops time at `epochMs` until `reset()`. */
  freeze(epochMs: number = clock.now()): void {
    frozenAt = epochMs;
  },
  reset(): void {
    offsetMs = 0;
    frozenAt = undefined;
  },
};
