import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { api, expectProblem } from "../../helpers/client";
import { bearer, registerUser, type Tokens } from "../../helpers/identity";

const patchMe = (token: string, json: unknown) => api("/v1/me", { method: "PATCH", json, headers: bearer(token) });

describe("GET /v1/me", () => {
  it("answers the signed-in user", async () => {
    const { tokens, user, email } = await registerUser({ name: "Grace" });
    const response = await api("/v1/me", { headers: bearer(tokens.accessToken) });
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ id: user.id, email, name: "Grace", emailVerified: false, role: "user" });
  });
});

describe("PATCH /v1/me", () => {
  it("updates name, locale, time zone and preferences", async () => {
    const { tokens } = await registerUser();
    const response = await patchMe(tokens.accessToken, {
      name: "Grace Hopper",
      locale: "pt-BR",
      timezone: "America/New_York",
      preferences: { theme: "dark", digest: { weekly: true } },
    });
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({
      name: "Grace Hopper",
      locale: "pt-BR",
      timezone: "America/New_York",
      preferences: { theme: "dark", digest: { weekly: true } },
    });
    const cleared = await patchMe(tokens.accessToken, { locale: null });
    expect(cleared.body).toMatchObject({ locale: null, name: "Grace Hopper" });
  });

  it("refuses role, email and unknown fields (mass assignment), changing nothing", async () => {
    const { tokens, user } = await registerUser({ name: "Before" });
    for (const json of [
      { role: "admin" },
      { name: "After", role: "admin" },
      { email: "new@example.com" },
      { disabledAt: null },
    ]) {
      expectProblem(await patchMe(tokens.accessToken, json), 400, "validation_failed");
    }
    const row = await env.DB.prepare("SELECT role, name FROM users WHERE id = ?").bind(user.id).first();
    expect(row).toEqual({ role: "user", name: "Before" });
  });

  it("refuses bad values with the field named", async () => {
    const { tokens } = await registerUser();
    const cases: [unknown, string][] = [
      [{ timezone: "Mars/Olympus" }, "body.timezone"],
      [{ locale: "not a locale" }, "body.locale"],
      [{ preferences: { blob: "x".repeat(5000) } }, "body.preferences"],
      [{ name: "" }, "body.name"],
      [{}, "body"],
    ];
    for (const [json, path] of cases) {
      const problem = expectProblem(await patchMe(tokens.accessToken, json), 400, "validation_failed");
      expect((problem.errors as { path: string }[]).map((error) => error.path)).toContain(path);
    }
  });
});

describe("POST /v1/me/password", () => {
  it("changes the password and ends every other session, keeping this one", async () => {
    const { tokens, email, password } = await registerUser();
    const other = await api<{ tokens: Tokens }>("/v1/auth/login", { json: { email, password } });
    const response = await api("/v1/me/password", {
      json: { currentPassword: password, newPassword: "an entirely new passphrase" },
      headers: bearer(tokens.accessToken),
    });
    expect(response.status).toBe(204);
    expect((await api("/v1/me", { headers: bearer(tokens.accessToken) })).status).toBe(200);
    expectProblem(
      await api("/v1/auth/refresh", { json: { refreshToken: other.body.tokens.refreshToken } }),
      401,
      "invalid_refresh_token",
    );
    expectProblem(await api("/v1/auth/login", { json: { email, password } }), 401, "invalid_credentials");
    expect((await api("/v1/auth/login", { json: { email, password: "an entirely new passphrase" } })).status).toBe(200);
  });

  it("refuses a wrong current password or a weak new one, changing nothing", async () => {
    const { tokens, email, password } = await registerUser();
    const wrong = await api("/v1/me/password", {
      json: { currentPassword: "not my password", newPassword: "an entirely new passphrase" },
      headers: bearer(tokens.accessToken),
    });
    expect(expectProblem(wrong, 400, "validation_failed").errors).toEqual([
      { path: "body.currentPassword", message: "is wrong" },
    ]);
    const weak = await api("/v1/me/password", {
      json: { currentPassword: password, newPassword: "12345678" },
      headers: bearer(tokens.accessToken),
    });
    expectProblem(weak, 400, "validation_failed");
    expect((await api("/v1/auth/login", { json: { email, password } })).status).toBe(200);
  });
});
