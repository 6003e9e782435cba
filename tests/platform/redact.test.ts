import { env } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import { loggerOf, redactorOf } from "../../src/env";
import { createLogger } from "../../src/platform/logger";
import { MAX_LOGGED_CHARS, Redactor } from "../../src/platform/redact";

afterEach(() => vi.restoreAllMocks());

describe("Redactor", () => {
  const redactor = new Redactor(["s3cr3t-value-1234", "short"]);

  it("removes configured secret values wherever they appear, and ignores ones too short to be secrets", () => {
    expect(redactor.text("key=s3cr3t-value-1234; and xs3cr3t-value-1234y")).toBe("key=[redacted]; and x[redacted]y");
    expect(redactor.text("a short word")).toBe("a short word");
  });

  it("removes credential-shaped text: bearer and basic credentials, provider keys, JWTs, key parameters", () => {
    const cases: [string, string][] = [
      ["Authorization: Bearer abcdef123456", "Authorization: [redacted]"],
      ['{"authorization":"Bearer abcdef123456"}', '{"authorization":"[redacted]"}'],
      ["DeepL-Auth-Key 1234-5678:fx failed", "DeepL-Auth-Key [redacted] failed"],
      ["sk-proj-abcdefghijklmnop1234 and sk_live_abcdefghijklmnopqr", "[redacted] and [redacted]"],
      ["sk-ant-api03-abcdefghijklmnopqrstuv", "[redacted]"],
      ["whsec_abcdef123456", "[redacted]"],
      ["AIzaSyA-abcdefghijklmnopqrstuvwx", "[redacted]"],
      ["token eyJhbGciOi.eyJzdWIiOiIx.c2lnbmF0dXJl", "token [redacted]"],
      ["GET /v2?key=abc123&q=x", "GET /v2?key=[redacted]&q=x"],
      ['"x-api-key": "anything-at-all"', '"x-api-key": "[redacted]"'],
      ['{"X-Api-Key":["abcd-1234"]}', '{"X-Api-Key":["[redacted]"]}'],
      ["re_abcdefghijklmnopqrstuv failed", "[redacted] failed"],
      // Prose stays prose.
      ["openai: no first token within 900 ms", "openai: no first token within 900 ms"],
      ["Basic information.", "Basic information."],
    ];
    for (const [input, output] of cases) expect(redactor.text(input)).toBe(output);
  });

  it("stays linear on hostile text (a log line is redacted on every request)", () => {
    // A quadratic pattern takes about 70 ms on 8 KiB of these; a linear one well under 1 ms.
    for (const unit of ["-eyJ", "sk-a", "Bearer a", "key=", "authorization: ", "eyJabcdef.", "Basic aaaa"]) {
      const text = unit.repeat(Math.ceil(MAX_LOGGED_CHARS / unit.length));
      redactor.text(text);
      const started = performance.now();
      redactor.text(text);
      expect(performance.now() - started, unit).toBeLessThan(15);
    }
  });

  it("keeps a bounded excerpt, redacted before it is cut", () => {
    const excerpt = redactor.excerpt(`${"x".repeat(295)}s3cr3t-value-1234${"y".repeat(5000)}`);
    expect(excerpt).not.toContain("s3cr3t");
    expect(excerpt.length).toBeLessThanOrEqual(301);
  });
});

describe("logs", () => {
  it("never write a configured secret, in the message or any field at any depth", () => {
    const lines: string[] = [];
    vi.spyOn(console, "warn").mockImplementation((line: string) => lines.push(line));
    // Not credential-shaped: only the configuration's list of secret values catches it.
    const secret = "deepl-stratus-tests";
    const deep = { a: { b: { c: { d: { e: { f: { g: `upstream said ${secret}` } } } } } } };
    loggerOf({ ...env, LOG_LEVEL: "debug" } as Env).warn(`failed with ${secret}`, { deep, list: [[secret]] });
    expect(lines).toHaveLength(1);
    expect(lines[0]).not.toContain(secret);
    expect(lines[0]).toContain("[redacted]");
  });

  it("replace what nests deeper than they walk, rather than write it unread", () => {
    const lines: string[] = [];
    vi.spyOn(console, "log").mockImplementation((line: string) => lines.push(line));
    let nested: Record<string, unknown> = { secret: "Bearer abcdef123456" };
    for (let i = 0; i < 20; i++) nested = { inner: nested };
    createLogger("info").info("deep", { nested });
    expect(lines[0]).toContain("[too deep]");
    expect(lines[0]).not.toContain("abcdef123456");
  });

  it("know every secret of the configuration: keys, webhook secrets, the signing keys' private parts", () => {
    const redactor = redactorOf(env);
    const secrets = env as unknown as Record<string, string>;
    const [signingKey] = JSON.parse(secrets.JWT_SIGNING_KEYS ?? "[]") as { d: string }[];
    for (const secret of [
      secrets.OPENAI_API_KEY,
      secrets.STRIPE_WEBHOOK_SECRET,
      secrets.DEEPL_API_KEY,
      signingKey?.d,
    ]) {
      expect(redactor.text(`x ${secret} y`)).toBe("x [redacted] y");
    }
  });
});
