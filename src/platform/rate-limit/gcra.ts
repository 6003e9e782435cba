/**
 * The limiter's algorithm: GCRA (the generic cell rate algorithm, token bucket's exact twin).
 *
 * Why GCRA: it is exact (each request conforms or not, decided in one place), a few numbers of
 * state per window whatever the limit (a sliding-window log keeps a timestamp per request:
 * millions for a day window), no doubled burst at window edges (fixed windows let 2 × limit
 * through across a boundary), and it answers "when may I retry?" exactly.
 *
 * A window "`limit` per `windowMs`" allows `limit` at once, then refills one every
 * `windowMs / limit`; it is full again `windowMs` after a burst. Its theoretical arrival time
 * (TAT) is when it would be full again. The state keeps the TAT as `count` requests charged
 * since `base` (the last time the window was full): TAT = base + count × interval, computed
 * with one multiplication, so float rounding never accumulates (adding an interval per request
 * to an epoch-sized number would lose a request at limits like 7 or 700 per minute).
 */

export type Window = {
  /** Unique within a limit key, e.g. the route class or `ip:…` for a per-IP counter. */
  name: string;
  limit: number;
  windowMs: number;
};

export type WindowState = { base: number; count: number; limit: number; windowMs: number };

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

/** Slack for comparisons of window-sized numbers (their rounding error is far below it). */
const EPSILON = 1e-6;

export const tatOf = (state: WindowState) => state.base + (state.count * state.windowMs) / state.limit;

/** The window's charges at `now`, in its current parameters: none once it is full again. */
function chargesAt(window: Window, state: WindowState | undefined, now: number): { base: number; count: number } {
  if (!state) return { base: now, count: 0 };
  const interval = window.windowMs / window.limit;
  if (state.limit !== window.limit || state.windowMs !== window.windowMs) {
    // The plan changed: keep what is owed, in whole requests of the new interval.
    const owed = Math.max(0, tatOf(state) - now);
    return { base: now, count: Math.ceil(owed / interval - EPSILON) };
  }
  const owed = state.base - now + state.count * interval;
  if (owed <= 0) return { base: now, count: 0 };
  // More than a window owed can only come from a clock that went back: cap it there.
  if (owed > window.windowMs) return { base: now, count: window.limit };
  return { base: state.base, count: state.count };
}

/**
 * Decides `cost` requests (one, or a lease of several: `leases.ts`) against every window:
 * allowed only if each window has room for all of them, and then each is charged. Returns the
 * verdict and the states to store (empty when refused).
 */
export function judge(
  windows: readonly Window[],
  stateOf: (name: string) => WindowState | undefined,
  now: number,
  cost = 1,
): { verdict: Verdict; updates: Map<string, WindowState> } {
  const updates = new Map<string, WindowState>();
  let binding: Verdict | undefined;
  let refused: Verdict | undefined;
  for (const window of windows) {
    if (window.limit < 1) {
      // A limit of zero allows nothing; without this its interval would be infinite.
      const closed = {
        allowed: false,
        limit: 0,
        remaining: 0,
        resetMs: window.windowMs,
        retryAfterMs: window.windowMs,
      };
      if (!refused || closed.retryAfterMs > refused.retryAfterMs) refused = { ...closed, window: window.name };
      continue;
    }
    const interval = window.windowMs / window.limit;
    const { base, count } = chargesAt(window, stateOf(window.name), now);
    // How long until full again if these requests are charged.
    const owed = base - now + ((count + cost) * window.windowMs) / window.limit;
    if (owed <= window.windowMs + EPSILON) {
      updates.set(window.name, { base, count: count + cost, limit: window.limit, windowMs: window.windowMs });
      const remaining = Math.floor((window.windowMs - owed) / interval + EPSILON);
      const verdict = {
        allowed: true,
        limit: window.limit,
        remaining,
        resetMs: owed,
        retryAfterMs: 0,
        window: window.name,
      };
      if (!binding || remaining < binding.remaining) binding = verdict;
    } else {
      const retryAfterMs = owed - window.windowMs;
      if (!refused || retryAfterMs > refused.retryAfterMs) {
        const resetMs = owed - interval;
        refused = { allowed: false, limit: window.limit, remaining: 0, resetMs, retryAfterMs, window: window.name };
      }
    }
  }
  if (refused) return { verdict: refused, updates: new Map() };
  if (!binding) throw new Error("a limit needs at least one window");
  return { verdict: binding, updates };
}

/** How many requests every window has room for at `now` (0 when any is full). */
export function roomOf(
  windows: readonly Window[],
  stateOf: (name: string) => WindowState | undefined,
  now: number,
): number {
  let room = Number.POSITIVE_INFINITY;
  for (const window of windows) {
    if (window.limit < 1) return 0;
    const { base, count } = chargesAt(window, stateOf(window.name), now);
    const interval = window.windowMs / window.limit;
    room = Math.min(room, Math.floor((window.windowMs + EPSILON - (base - now)) / interval + EPSILON) - count);
  }
  return Math.max(0, room);
}

/**
 * Gives back `cost` requests' charges (one by default) on each window (a login that succeeded, a request refused
 * elsewhere). Returns the states to store; `undefined` means the window is full: drop it.
 */
export function refund(
  windows: readonly Window[],
  stateOf: (name: string) => WindowState | undefined,
  now: number,
  cost = 1,
): Map<string, WindowState | undefined> {
  const updates = new Map<string, WindowState | undefined>();
  for (const window of windows) {
    const state = stateOf(window.name);
    if (!state) continue;
    const { base, count } = chargesAt(window, state, now);
    updates.set(
      window.name,
      count > cost ? { base, count: count - cost, limit: window.limit, windowMs: window.windowMs } : undefined,
    );
  }
  return updates;
}
