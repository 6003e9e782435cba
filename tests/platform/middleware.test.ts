import { env } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import { createLogger, isSecretField } from "../../src/platform/logger";
import { api } from "../helpers/client";
import { testApp } from "../helpers/test-app";

afterEach(() => vi.restoreAllMocks());

describe("request id", () => {
  it("keeps a sane client-supplied id", async () => {
    const response = await api("/health", { headers: { "x-request-id": "client-trace-1234" } });
    expect(response.headers.get("x-request-id")).toBe("client-trace-1234");
  });

  it("replaces an unsafe or oversized id with a generated one", async () => {
    for (const offered of ["a b c d e f g h", "<script>alert(1)</script>", "x".repeat(200), "short"]) {
      const response = await api("/health", { headers: { "x-request-id": offered } });
      expect(response.headers.get("x-request-id")).toMatch(/^req_[0-9A-Z]{26}$/);
    }
  });

  it("is echoed on errors too", async () => {
    const response = await api("/nowhere", { headers: { "x-request-id": "trace-on-error-1" } });
    expect(response.status).toBe(404);
    expect(response.headers.get("x-request-id")).toBe("trace-on-error-1");
    expect((response.body as { requestId: string }).requestId).toBe("trace-on-error-1");
  });
});

describe("CORS", () => {
  it("answers a preflight from an allowed origin", async () => {
    const response = await api("/health", {
      method: "OPTIONS",
      headers: {
        origin: "https://app.example.com",
        "access-control-request-method": "POST",
        "access-control-request-headers": "authorization, content-type, idempotency-key",
      },
    });
    expect(response.status).toBe(204);
    expect(response.headers.get("access-control-allow-origin")).toBe("https://app.example.com");
    expect(response.headers.get("access-control-allow-headers")?.toLowerCase()).toContain("idempotency-key");
    expect(response.headers.get("access-control-allow-credentials")).toBeNull();
  });

  it("gives no CORS grant to an origin outside CORS_ORIGINS", async () => {
    const preflight = await api("/health", {
      method: "OPTIONS",
      headers: { origin: "https://evil.example.net", "access-control-request-method": "GET" },
    });
    expect(preflight.headers.get("access-control-allow-origin")).toBeNull();
    const simple = await api("/health", { headers: { origin: "https://evil.example.net" } });
    expect(simple.status).toBe(200);
    expect(simple.headers.get("access-control-allow-origin")).toBeNull();
  });

  it("exposes the request id to allowed browser clients", async () => {
    const response = await api("/health", { headers: { origin: "https://app.example.com" } });
    expect(response.headers.get("access-control-allow-origin")).toBe("https://app.example.com");
    expect(response.headers.get("access-control-expose-headers")?.toLowerCase()).toContain("x-request-id");
  });
});

describe("security headers and timing", () => {
  it("sets the security headers and Server-Timing on every answer", async () => {
    for (const path of ["/health", "/missing"]) {
      const response = await api(path);
      expect(response.headers.get("strict-transport-security")).toContain("max-age=");
      expect(response.headers.get("x-frame-options")).toBe("DENY");
      expect(response.headers.get("referrer-policy")).toBe("no-referrer");
      expect(response.headers.get("content-security-policy")).toBe("default-src 'none'; frame-ancestors 'none'");
      expect(response.headers.get("cache-control")).toBe("no-store");
      expect(response.headers.get("server-timing")).toMatch(/handler;dur=/);
    }
  });
});

describe("request log", () => {
  it("writes one JSON line per request, without the query string", async () => {
    const log = vi.spyOn(console, "log").mockImplementation(() => {});
    const { call } = testApp();
    const response = await call(
      "/health?token=sekrit",
      { headers: { "x-request-id": "log-line-test-1" } },
      { ...env, LOG_LEVEL: "info" },
    );
    expect(response.status).toBe(200);
    const lines = log.mock.calls.map((args) => String(args[0]));
    expect(lines).toHaveLength(1);
    const line = JSON.parse(lines[0] as string);
    expect(line).toMatchObject({
      level: "info",
      message: "request",
      requestId: "log-line-test-1",
      method: "GET",
      path: "/health",
      route: "/health",
      status: 200,
    });
    expect(typeof line.durationMs).toBe("number");
    expect(lines[0]).not.toContain("sekrit");
  });

  it("logs server errors at error level", async () => {
    const error = vi.spyOn(console, "error").mockImplementation(() => {});
    const { app, call } = testApp();
    app.get("/test/fails", () => {
      throw new Error("boom");
    });
    await call("/test/fails", {}, { ...env, LOG_LEVEL: "info" });
    const request = error.mock.calls.map((args) => JSON.parse(String(args[0]))).find((l) => l.message === "request");
    expect(request).toMatchObject({ level: "error", status: 500, route: "/test/fails" });
  });
});

describe("log redaction", () => {
  it("redacts credential fields at any depth and keeps look-alikes", () => {
    const log = vi.spyOn(console, "log").mockImplementation(() => {});
    createLogger("info").info("event", {
      password: "hunter2",
      refreshToken: "rt-secret",
      headers: { authorization: "Bearer abc", "x-api-key": "sk_live_123", accept: "json" },
      errors: [{ clientSecret: "cs-1", path: "body.name" }],
      usage: { promptTokens: 12, totalTokens: 30 },
      passed: true,
      cacheKey: "translate:abc",
    });
    const line = JSON.parse(String(log.mock.calls[0]?.[0]));
    expect(JSON.stringify(line)).not.toMatch(/hunter2|rt-secret|Bearer abc|sk_live_123|cs-1/);
    expect(line.headers).toEqual({ authorization: "[redacted]", "x-api-key": "[redacted]", accept: "json" });
    expect(line.usage).toEqual({ promptTokens: 12, totalTokens: 30 });
    expect(line.passed).toBe(true);
    expect(line.cacheKey).toBe("translate:abc");
  });

  it("classifies field names by their last word", () => {
    for (const name of ["password", "newPassword", "api_key", "apiKey", "X-Api-Key", "signature", "prompt", "cookie"]) {
      expect(isSecretField(name), name).toBe(true);
    }
    for (const name of ["promptTokens", "passed", "bypass", "idempotencyKey", "tokensUsed", "keyId"]) {
      expect(isSecretField(name), name).toBe(false);
    }
  });
});
