/**
 * The limiter's algorithm: GCRA (the generic cell rate algorithm, token bucket's exact twin).
 *
 * Why GCRA: it is exact (each request conforms or not, decided in one place), one number of
 * state per window whatever the limit (a sliding-window log keeps a timestamp per request:
 * millions for a day window), no doubled burst at window edges (fixed windows let 2 × limit
 * through across a boundary), and it answers "when may I retry?" exactly.
 *
 * A window "`limit` per `windowMs`" allows `limit` at once, then refills one every
 * `windowMs / limit`; it is full again `windowMs` after a burst. The state is the theoretical
 * arrival time (TAT): when the window would be full again. No state means full.
 */

export type Window = {
  /** Unique within a limit key, e.g. the route class or `ip:…` for a per-IP counter. */
  name: string;
  limit: number;
  windowMs: number;
};

/** The answer for a set of windows, described by the one that binds most. */
export type Verdict = {
  allowed: boolean;
  /** That window's limit, what is left of it, and ms until it is full again. */
  limit: number;
  remaining: number;
  resetMs: number;
  /** When refused: ms until the request would conform. */
  retryAfterMs: number;
  /** The window that decided it. */
  window: string;
};

/** Floating-point slack, in ms: intervals like 60 000 / 7 do not add up exactly. */
const EPSILON_MS = 1e-6;

const intervalOf = (window: Window) => window.windowMs / window.limit;

/**
 * Decides one request against every window: allowed only if each window has room, and then
 * each is charged. Returns the verdict and the TATs to store (empty when refused).
 */
export function judge(
  windows: readonly Window[],
  tatOf: (name: string) => number | undefined,
  now: number,
): { verdict: Verdict; updates: Map<string, number> } {
  const updates = new Map<string, number>();
  let binding: Verdict | undefined;
  let refused: Verdict | undefined;
  for (const window of windows) {
    const interval = intervalOf(window);
    // A TAT beyond one window can only come from a clock that went back: cap it there.
    const tat = Math.min(Math.max(tatOf(window.name) ?? now, now), now + window.windowMs);
    const next = tat + interval;
    if (next - now <= window.windowMs + EPSILON_MS) {
      updates.set(window.name, next);
      const remaining = Math.floor((window.windowMs - (next - now)) / interval + EPSILON_MS);
      const verdict = {
        allowed: true,
        limit: window.limit,
        remaining,
        resetMs: next - now,
        retryAfterMs: 0,
        window: window.name,
      };
      if (!binding || remaining < binding.remaining) binding = verdict;
    } else {
      const retryAfterMs = next - window.windowMs - now;
      if (!refused || retryAfterMs > refused.retryAfterMs) {
        refused = {
          allowed: false,
          limit: window.limit,
          remaining: 0,
          resetMs: tat - now,
          retryAfterMs,
          window: window.name,
        };
      }
    }
  }
  if (refused) return { verdict: refused, updates: new Map() };
  if (!binding) throw new Error("a limit needs at least one window");
  return { verdict: binding, updates };
}

/**
 * Gives back one request's charge on each window (a login that succeeded, a request refused
 * elsewhere). Returns the TATs to store; `undefined` means the window is full: drop its state.
 */
export function refund(
  windows: readonly Window[],
  tatOf: (name: string) => number | undefined,
  now: number,
): Map<string, number | undefined> {
  const updates = new Map<string, number | undefined>();
  for (const window of windows) {
    const tat = tatOf(window.name);
    if (tat === undefined) continue;
    const earlier = tat - intervalOf(window);
    updates.set(window.name, earlier > now ? earlier : undefined);
  }
  return updates;
}
