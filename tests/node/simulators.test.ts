import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { describe, expect, it } from "vitest";

/**
 * Each simulator's verify step (simulators/verify-*.mjs) drives it over raw HTTP as its real
 * service would be driven and fails on the first wrong answer: a simulator that drifts from the
 * wire format the adapters are written against fails CI here, not in a confusing adapter test.
 */
const scripts = readdirSync("simulators").filter((name) => /^verify-.*\.mjs$/.test(name));

describe("simulators", () => {
  it("has a verify step for each simulator", () => {
    expect(scripts.sort()).toEqual([
      "verify-llm-simulators.mjs",
      "verify-stripe-simulator.mjs",
      "verify-translate-simulator.mjs",
    ]);
  });

  for (const script of scripts) {
    it(`${script} passes`, () => {
      const result = spawnSync(process.execPath, [`simulators/${script}`], { encoding: "utf8", timeout: 60_000 });
      expect(result.status, `${result.stdout}${result.stderr}`).toBe(0);
      expect(result.stdout).toMatch(/^ok/m);
    });
  }
});
