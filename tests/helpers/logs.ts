import { env } from "cloudflare:test";
import { vi } from "vitest";
import { testApp } from "./test-app";

/**
 * Every line the Worker writes to the console while a test runs, and the app at `debug` level
 * (the test pool's Worker logs errors only), so a test can assert what the logs never hold.
 * Call `vi.restoreAllMocks()` after (an `afterEach`).
 */
export function capturedLogs() {
  const lines: string[] = [];
  for (const level of ["debug", "log", "info", "warn", "error"] as const) {
    vi.spyOn(console, level).mockImplementation((...args: unknown[]) => {
      lines.push(args.map((arg) => (typeof arg === "string" ? arg : JSON.stringify(arg))).join(" "));
    });
  }
  const { call } = testApp();
  const debugEnv = { ...env, LOG_LEVEL: "debug" } as Env;
  return {
    lines,
    text: () => lines.join("\n"),
    /** A request to the app with every log level written. */
    call: (path: string, init: RequestInit = {}, bindings: Record<string, unknown> = {}) =>
      call(path, init, { ...debugEnv, ...bindings } as Env),
  };
}
