import { env } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import { hashPassword, PBKDF2_ITERATIONS } from "../../../src/modules/identity/passwords";
import { api, expectProblem } from "../../helpers/client";
import { registerUser } from "../../helpers/identity";

afterEach(() => vi.restoreAllMocks());

const countUsers = async (email: string) =>
  (await env.DB.prepare("SELECT count(*) AS n FROM users WHERE email = ?").bind(email).first<{ n: number }>())?.n;

describe("POST /v1/auth/register", () => {
  it("creates the user, normalizes the email and signs in", async () => {
    const response = await api<{ user: Record<string, unknown>; tokens: Record<string, unknown> }>(
      "/v1/auth/register",
      {
        json: { email: "  Ada.Lovelace@Example.COM ", password: "analytical engine notes", name: "Ada" },
      },
    );
    expect(response.status).toBe(201);
    expect(response.body.user).toMatchObject({
      id: expect.stringMatching(/^usr_/),
      email: "ada.lovelace@example.com",
      emailVerified: false,
      name: "Ada",
      role: "user",
      preferences: {},
    });
    expect(response.body.tokens).toMatchObject({ tokenType: "Bearer", expiresIn: 900 });
    expect(JSON.stringify(response.body)).not.toContain("password");
    const stored = await env.DB.prepare("SELECT password_hash FROM users WHERE email = ?")
      .bind("ada.lovelace@example.com")
      .first<{ password_hash: string }>();
    expect(stored?.password_hash).toMatch(/^pbkdf2-sha256\$100000\$[A-Za-z0-9+/=]{24}\$[A-Za-z0-9+/=]{44}$/);
  });

  it("answers 409 for an email already registered, in any case", async () => {
    const { email } = await registerUser();
    const again = await api("/v1/auth/register", {
      json: { email: email.toUpperCase(), password: "another fine passphrase", name: "Twin" },
    });
    expectProblem(again, 409, "conflict");
    expect(await countUsers(email)).toBe(1);
  });

  it("refuses short, overlong and common passwords, writing nothing", async () => {
    const cases: [string, RegExp][] = [
      ["short", /at least 8/],
      ["x".repeat(129), /at most 128/],
      ["password1", /too common/],
      ["Qwertyuiop", /too common/],
    ];
    for (const [password, message] of cases) {
      const email = `weak-${crypto.randomUUID().slice(0, 8)}@example.com`;
      const response = await api("/v1/auth/register", { json: { email, password, name: "Weak" } });
      const problem = expectProblem(response, 400, "validation_failed");
      expect(problem.errors).toEqual([{ path: "body.password", message: expect.stringMatching(message) }]);
      expect(await countUsers(email)).toBe(0);
    }
  });

  it("refuses bad input and unknown fields (no mass assignment)", async () => {
    const bad = [
      { email: "not-an-email", password: "a fine long passphrase", name: "X" },
      { email: "x@example.com", password: "a fine long passphrase", name: "" },
      { email: "x@example.com", password: "a fine long passphrase", name: "X", role: "admin" },
      { email: "x@example.com", name: "X" },
    ];
    for (const json of bad) expectProblem(await api("/v1/auth/register", { json }), 400, "validation_failed");
    expect(await countUsers("x@example.com")).toBe(0);
  });

  it("keeps the configured PBKDF2 cost within production's cap", () => {
    expect(PBKDF2_ITERATIONS).toBeLessThanOrEqual(100_000);
    expect(PBKDF2_ITERATIONS).toBeGreaterThanOrEqual(100_000);
  });
});

describe("POST /v1/auth/login", () => {
  it("signs in with the right password", async () => {
    const { email, password, user } = await registerUser();
    const response = await api<{ user: { id: string } }>("/v1/auth/login", {
      json: { email: ` ${email.toUpperCase()}`, password },
    });
    expect(response.status).toBe(200);
    expect(response.body.user.id).toBe(user.id);
  });

  it("answers a wrong password and an unknown email alike", async () => {
    const { email } = await registerUser();
    const wrong = await api("/v1/auth/login", { json: { email, password: "not the password at all" } });
    const unknown = await api("/v1/auth/login", {
      json: { email: "nobody-here@example.com", password: "whatever it is" },
    });
    const a = expectProblem(wrong, 401, "invalid_credentials");
    const b = expectProblem(unknown, 401, "invalid_credentials");
    expect(a.detail).toBe(b.detail);
  });

  it("spends one full PBKDF2 derivation on an unknown email too", async () => {
    const derive = vi.spyOn(crypto.subtle, "deriveBits");
    await api("/v1/auth/login", { json: { email: "ghost@example.com", password: "some password here" } });
    const iterations = derive.mock.calls.map(([algorithm]) => (algorithm as { iterations?: number }).iterations);
    expect(iterations).toEqual([PBKDF2_ITERATIONS]);
  });

  it("re-hashes a password stored at a lower cost", async () => {
    const { email, password, user } = await registerUser();
    await env.DB.prepare("UPDATE users SET password_hash = ? WHERE id = ?")
      .bind(await hashPassword(password, 1000), user.id)
      .run();
    expect((await api("/v1/auth/login", { json: { email, password } })).status).toBe(200);
    const stored = await env.DB.prepare("SELECT password_hash FROM users WHERE id = ?")
      .bind(user.id)
      .first<{ password_hash: string }>();
    expect(stored?.password_hash.startsWith(`pbkdf2-sha256$${PBKDF2_ITERATIONS}$`)).toBe(true);
  });

  it("refuses a disabled user with the same answer", async () => {
    const { email, password, user } = await registerUser();
    await env.DB.prepare("UPDATE users SET disabled_at = 1 WHERE id = ?").bind(user.id).run();
    expectProblem(await api("/v1/auth/login", { json: { email, password } }), 401, "invalid_credentials");
  });
});
