import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { judge, refund, tatOf, type Window, type WindowState } from "../../src/platform/rate-limit/gcra";
import { ipKey } from "../../src/platform/rate-limit/limiter";

/** Runs arrivals (ms, ascending) through `windows`; returns the times let through. */
function simulate(windows: Window[], arrivals: number[]) {
  const tats = new Map<string, WindowState>();
  const passed: number[] = [];
  for (const now of arrivals) {
    const { verdict, updates } = judge(windows, (name) => tats.get(name), now);
    for (const [name, tat] of updates) tats.set(name, tat);
    if (verdict.allowed) passed.push(now);
  }
  return { passed, tats };
}

const windowArb = fc.record({
  name: fc.constant("w"),
  limit: fc.integer({ min: 1, max: 50 }),
  windowMs: fc.integer({ min: 1_000, max: 3_600_000 }),
});
const arrivalsArb = fc
  .array(fc.integer({ min: 0, max: 7_200_000 }), { maxLength: 300 })
  .map((times) => times.sort((a, b) => a - b));

describe("GCRA", () => {
  it("lets a full burst through at once, then refuses until one interval has passed", () => {
    const window = { name: "minute", limit: 10, windowMs: 60_000 };
    expect(simulate([window], Array(11).fill(0)).passed).toHaveLength(10);
    expect(simulate([window], [...Array(11).fill(0), 5_999, 6_000]).passed).toEqual([...Array(10).fill(0), 6_000]);
  });

  it("never lets more than limit + elapsed / interval through in any span", () => {
    fc.assert(
      fc.property(windowArb, arrivalsArb, (window, arrivals) => {
        const { passed } = simulate([window], arrivals);
        const interval = window.windowMs / window.limit;
        for (let i = 0; i < passed.length; i++) {
          for (let j = i; j < passed.length; j++) {
            const span = (passed[j] as number) - (passed[i] as number);
            expect(j - i + 1).toBeLessThanOrEqual(window.limit + Math.floor(span / interval + 1e-9));
          }
        }
      }),
    );
  });

  it("decides all windows together: a refusal charges none of them", () => {
    const windows = [
      { name: "second", limit: 2, windowMs: 1_000 },
      { name: "hour", limit: 3, windowMs: 3_600_000 },
    ];
    const { passed, tats } = simulate(windows, [0, 0, 0, 5_000, 5_000]);
    expect(passed).toEqual([0, 0, 5_000]);
    expect(tatOf(tats.get("second") as WindowState)).toBe(5_500);
    const refused = judge(windows, (name) => tats.get(name), 5_000);
    expect(refused.verdict).toMatchObject({ allowed: false, window: "hour", remaining: 0 });
    expect(refused.updates.size).toBe(0);
  });

  it("describes an allowed request by the window with the least left", () => {
    const { verdict } = judge(
      [
        { name: "minute", limit: 10, windowMs: 60_000 },
        { name: "day", limit: 2, windowMs: 86_400_000 },
      ],
      () => undefined,
      0,
    );
    expect(verdict).toMatchObject({ allowed: true, window: "day", limit: 2, remaining: 1, resetMs: 43_200_000 });
  });

  it("gives back exactly the one charge a refund is for", () => {
    fc.assert(
      fc.property(windowArb, arrivalsArb, (window, arrivals) => {
        const { tats } = simulate([window], arrivals);
        const now = arrivals.at(-1) ?? 0;
        const { verdict, updates } = judge([window], (name) => tats.get(name), now);
        fc.pre(verdict.allowed);
        const charged = new Map<string, WindowState>([...tats, ...updates]);
        const refunded = refund([window], (name) => charged.get(name), now);
        const after = judge([window], (name) => (refunded.has(name) ? refunded.get(name) : charged.get(name)), now);
        expect(after.verdict.remaining).toBe(verdict.remaining);
      }),
    );
  });

  it("lets exactly the limit through at epoch-sized times, whatever the limit", () => {
    const now = 1_764_000_000_123;
    for (const limit of [7, 9, 17, 33, 700, 7_777, 100_000]) {
      const window = { name: "minute", limit, windowMs: 60_000 };
      expect(simulate([window], Array(limit + 1).fill(now)).passed).toHaveLength(limit);
      // Clocks read whole milliseconds: the first one at or after the refill.
      const refill = Math.ceil(now + 60_000 / limit);
      expect(simulate([window], [...Array(limit).fill(now), refill - 1, refill]).passed).toHaveLength(limit + 1);
    }
  });

  it("keeps what is owed when the plan changes the limit", () => {
    const before = { name: "minute", limit: 10, windowMs: 60_000 };
    const { tats } = simulate([before], Array(10).fill(0));
    const after = { name: "minute", limit: 600, windowMs: 60_000 };
    // 60 s owed at 10/min is 600 requests at 600/min: the bucket stays empty.
    expect(judge([after], (name) => tats.get(name), 0).verdict.allowed).toBe(false);
    expect(judge([after], (name) => tats.get(name), 30_000).verdict).toMatchObject({ allowed: true, remaining: 299 });
  });

  it("caps a wait at one window when the clock went back", () => {
    const window = { name: "minute", limit: 1, windowMs: 60_000 };
    const { verdict } = judge([window], () => ({ base: 10 * 3_600_000, count: 1, limit: 1, windowMs: 60_000 }), 0);
    expect(verdict.retryAfterMs).toBe(60_000);
  });
});

describe("ipKey", () => {
  it("keeps IPv4 addresses and groups IPv6 by /64", () => {
    expect(ipKey("203.0.113.7")).toBe("ip:203.0.113.7");
    expect(ipKey("::ffff:203.0.113.7")).toBe("ip:203.0.113.7");
    expect(ipKey("2001:DB8:0:1:aaaa::1")).toBe("ip:2001:db8:0:1::/64");
    expect(ipKey("2001:db8::1:2:3:4")).toBe("ip:2001:db8:0:0::/64");
    expect(ipKey("2001:db8:0:0001::ffff")).toBe(ipKey("2001:db8:0:1::"));
    expect(ipKey("::1")).toBe("ip:0:0:0:0::/64");
    expect(ipKey(undefined)).toBe("ip:unknown");
  });
});
