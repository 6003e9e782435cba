import fc from "fast-check";
import { afterEach, describe, expect, it } from "vitest";
import { clock, testClock } from "../../src/platform/clock";
import { newId } from "../../src/platform/ids";

afterEach(() => testClock.reset());

describe("ids", () => {
  it("are prefixed, 26 Crockford base32 characters, and unique", () => {
    const ids = new Set(Array.from({ length: 2000 }, () => newId("task")));
    expect(ids.size).toBe(2000);
    for (const id of ids) expect(id).toMatch(/^task_[0-9A-HJKMNP-TV-Z]{26}$/);
  });

  it("sort in creation order", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 47 }), fc.integer({ min: 1, max: 2 ** 20 }), (t, gap) => {
        expect(newId("req", t) < newId("req", t + gap)).toBe(true);
      }),
    );
  });
});

describe("clock", () => {
  it("moves and freezes for tests", () => {
    const real = Date.now();
    testClock.advance(60_000);
    expect(clock.now() - real).toBeGreaterThanOrEqual(60_000);
    testClock.freeze(1_000);
    expect(clock.now()).toBe(1_000);
    testClock.advance(500);
    expect(clock.iso()).toBe("1970-01-01T00:00:01.500Z");
    testClock.reset();
    expect(Math.abs(clock.now() - Date.now())).toBeLessThan(1000);
  });
});
