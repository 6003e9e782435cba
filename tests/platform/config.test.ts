import { createExecutionContext, env } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import { DEV_VALUE_PREFIX, parseConfig } from "../../src/env";
import worker from "../../src/index";
import { AppError } from "../../src/platform/errors";

afterEach(() => vi.restoreAllMocks());

async function fetchWith(bindings: Record<string, unknown>) {
  const request = new Request("https://stratus.test/health");
  const response = await worker.fetch(request, bindings as unknown as Env, createExecutionContext());
  return {
    status: response.status,
    headers: response.headers,
    body: (await response.json()) as Record<string, unknown>,
  };
}

describe("configuration", () => {
  it("answers 500 config_invalid naming the bad keys, never their values, and logs the same", async () => {
    const logged = vi.spyOn(console, "error").mockImplementation(() => {});
    const response = await fetchWith({
      ...env,
      ENVIRONMENT: "staging-xyz",
      CORS_ORIGINS: "https://ok.example.com,not-an-origin-value",
      LOG_LEVEL: "chatty",
    });
    expect(response.status).toBe(500);
    expect(response.headers.get("content-type")).toBe("application/problem+json");
    expect(response.body.code).toBe("config_invalid");
    expect(response.body.detail).toContain("ENVIRONMENT");
    expect(response.body.detail).toContain("CORS_ORIGINS");
    expect(response.body.detail).toContain("LOG_LEVEL");
    const text = JSON.stringify(response.body);
    for (const value of ["staging-xyz", "not-an-origin-value", "chatty"]) expect(text).not.toContain(value);
    const line = logged.mock.calls.map((args) => String(args[0])).find((l) => l.includes("configuration invalid"));
    expect(line).toBeDefined();
    expect(line).toContain("CORS_ORIGINS");
    expect(line).not.toContain("not-an-origin-value");
  });

  it("names a missing binding", async () => {
    vi.spyOn(console, "error").mockImplementation(() => {});
    const { FILES: _omitted, ...withoutR2 } = env as unknown as Record<string, unknown>;
    const response = await fetchWith(withoutR2);
    expect(response.status).toBe(500);
    expect(response.body.detail).toContain("FILES");
  });

  it("refuses development values in production, naming the key", () => {
    const secretValue = `${DEV_VALUE_PREFIX}signing-key-material`;
    const raw = { ...(env as unknown as Record<string, unknown>), ENVIRONMENT: "production", SOME_SECRET: secretValue };
    let thrown: unknown;
    try {
      parseConfig(raw);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(AppError);
    expect((thrown as AppError).code).toBe("config_invalid");
    expect((thrown as AppError).detail).toContain("SOME_SECRET");
    expect(JSON.stringify((thrown as AppError).errors)).not.toContain("signing-key-material");
    // The same value is fine outside production.
    expect(() => parseConfig({ ...raw, ENVIRONMENT: "development" })).not.toThrow();
  });

  it("refuses plain-http browser origins in production", () => {
    const raw = {
      ...(env as unknown as Record<string, unknown>),
      ENVIRONMENT: "production",
      EMAIL_PROVIDER: "resend",
      RESEND_API_KEY: "re_live_key",
      // wrangler.toml's prices are the simulator's dev-only ids, which production refuses.
      BILLING_CREDIT_PACKS: "[]",
      BILLING_PLAN_PRICES: "[]",
    };
    expect(() => parseConfig({ ...raw, CORS_ORIGINS: "https://app.example.com,http://localhost:3000" })).toThrow(
      /CORS_ORIGINS/,
    );
    expect(() => parseConfig({ ...raw, BILLING_REDIRECT_ALLOWLIST: "http://app.example.com" })).toThrow(
      /BILLING_REDIRECT_ALLOWLIST/,
    );
    expect(parseConfig({ ...raw, CORS_ORIGINS: "https://app.example.com" }).CORS_ORIGINS).toEqual([
      "https://app.example.com",
    ]);
  });

  it("answers a configuration error with the security headers", async () => {
    vi.spyOn(console, "error").mockImplementation(() => {});
    const response = await fetchWith({ ...env, ENVIRONMENT: "nope" });
    expect(response.status).toBe(500);
    expect(response.headers.get("x-content-type-options")).toBe("nosniff");
    expect(response.headers.get("x-request-id")).toMatch(/^req_/);
  });

  it("refuses the log-only email provider in production", () => {
    const raw = { ...(env as unknown as Record<string, unknown>), ENVIRONMENT: "production" };
    expect(() => parseConfig(raw)).toThrow(/EMAIL_PROVIDER/);
  });

  it("parses the origin allowlist", () => {
    const config = parseConfig({
      ...(env as unknown as Record<string, unknown>),
      CORS_ORIGINS: " https://a.example , http://localhost:3000 ",
    });
    expect(config.CORS_ORIGINS).toEqual(["https://a.example", "http://localhost:3000"]);
    expect(() =>
      parseConfig({ ...(env as unknown as Record<string, unknown>), CORS_ORIGINS: "https://a.example/path" }),
    ).toThrow(AppError);
  });
});
