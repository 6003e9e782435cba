import { env } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import { RESET_TOKEN_TTL_MS, VERIFY_TOKEN_TTL_MS } from "../../../src/modules/identity/email-flows";
import { testClock } from "../../../src/platform/clock";
import { api, expectProblem } from "../../helpers/client";
import { bearer, emailedToken, registerUser, type Tokens } from "../../helpers/identity";

afterEach(() => testClock.reset());

const me = (token: string) => api<{ email: string; emailVerified: boolean }>("/v1/me", { headers: bearer(token) });
const outboxCount = async (to: string, template: string) =>
  (
    await env.DB.prepare("SELECT count(*) AS n FROM email_outbox WHERE to_address = ? AND template = ?")
      .bind(to, template)
      .first<{ n: number }>()
  )?.n ?? 0;

describe("email verification", () => {
  it("register sends a link; the token verifies once", async () => {
    const { email, tokens } = await registerUser();
    const token = await emailedToken(email, "verifyEmail");
    expect((await api("/v1/auth/verify-email", { json: { token } })).status).toBe(204);
    expect((await me(tokens.accessToken)).body.emailVerified).toBe(true);
    expectProblem(await api("/v1/auth/verify-email", { json: { token } }), 400, "invalid_token");
  });

  it("refuses an expired or unknown token", async () => {
    const { email, tokens } = await registerUser();
    const token = await emailedToken(email, "verifyEmail");
    testClock.advance(VERIFY_TOKEN_TTL_MS + 1);
    expectProblem(await api("/v1/auth/verify-email", { json: { token } }), 400, "invalid_token");
    expectProblem(await api("/v1/auth/verify-email", { json: { token: "made-up" } }), 400, "invalid_token");
    testClock.reset();
    expect((await me(tokens.accessToken)).body.emailVerified).toBe(false);
  });

  it("resend mails a new link while unverified, and answers 202 alike otherwise", async () => {
    const { email } = await registerUser();
    const resend = (to: string) => api("/v1/auth/verify-email/resend", { json: { email: to } });
    expect((await resend(email)).status).toBe(202);
    await expect.poll(() => outboxCount(email, "verifyEmail")).toBe(2);
    await api("/v1/auth/verify-email", { json: { token: await emailedToken(email, "verifyEmail") } });
    const verified = await resend(email);
    const unknown = await resend("never-registered@example.com");
    expect([verified.status, verified.text]).toEqual([202, ""]);
    expect([unknown.status, unknown.text]).toEqual([202, ""]);
    expect(await outboxCount(email, "verifyEmail")).toBe(2);
    expectProblem(await api("/v1/auth/verify-email/resend", { json: {} }), 400, "validation_failed");
  });
});

describe("password reset", () => {
  it("forgot → reset → old sessions dead, new password works", async () => {
    const { email, tokens } = await registerUser();
    expect((await api("/v1/auth/password/forgot", { json: { email } })).status).toBe(202);
    await expect.poll(() => outboxCount(email, "resetPassword")).toBe(1);
    const token = await emailedToken(email, "resetPassword");
    const reset = await api("/v1/auth/password/reset", { json: { token, password: "a brand new passphrase" } });
    expect(reset.status).toBe(204);
    expectProblem(
      await api("/v1/auth/refresh", { json: { refreshToken: tokens.refreshToken } }),
      401,
      "invalid_refresh_token",
    );
    expectProblem(await me(tokens.accessToken), 401, "unauthorized");
    expect((await api("/v1/auth/login", { json: { email, password: "a brand new passphrase" } })).status).toBe(200);
    expectProblem(
      await api("/v1/auth/password/reset", { json: { token, password: "yet another passphrase" } }),
      400,
      "invalid_token",
    );
  });

  it("answers an unknown email exactly like a known one, sending nothing", async () => {
    const { email } = await registerUser();
    const known = await api("/v1/auth/password/forgot", { json: { email } });
    const unknown = await api("/v1/auth/password/forgot", { json: { email: "nobody-at-all@example.com" } });
    const shape = (response: typeof known) =>
      [
        response.status,
        response.text,
        [...response.headers.keys()].filter((name) => name !== "server-timing").sort(),
      ] as const;
    expect(shape(unknown)).toEqual(shape(known));
    expect(await outboxCount("nobody-at-all@example.com", "resetPassword")).toBe(0);
  });

  it("kills every other pending link; on an unverified account it verifies and revokes API keys", async () => {
    const squatter = await registerUser();
    const auth = bearer(squatter.tokens.accessToken);
    const key = await api<{ secret: string }>("/v1/api-keys", {
      json: { name: "squatter", scopes: ["ai"] },
      headers: auth,
    });
    expect(key.status).toBe(201);
    const changeTo = `elsewhere-${crypto.randomUUID().slice(0, 8)}@example.com`;
    await api("/v1/me/email", { json: { newEmail: changeTo, password: squatter.password }, headers: auth });
    const pendingChange = await emailedToken(changeTo, "changeEmail");
    // The real owner of the address resets the password.
    await api("/v1/auth/password/forgot", { json: { email: squatter.email } });
    await expect.poll(() => outboxCount(squatter.email, "resetPassword")).toBe(1);
    const token = await emailedToken(squatter.email, "resetPassword");
    expect((await api("/v1/auth/password/reset", { json: { token, password: "owner takes it back" } })).status).toBe(
      204,
    );
    expectProblem(await api("/v1/auth/verify-email", { json: { token: pendingChange } }), 400, "invalid_token");
    const row = await env.DB.prepare("SELECT email_verified_at, email FROM users WHERE id = ?")
      .bind(squatter.user.id)
      .first<{ email_verified_at: number | null; email: string }>();
    expect(row).toMatchObject({ email: squatter.email, email_verified_at: expect.any(Number) });
    const keyRow = await env.DB.prepare("SELECT revoked_at FROM api_keys WHERE user_id = ?")
      .bind(squatter.user.id)
      .first<{ revoked_at: number | null }>();
    expect(keyRow?.revoked_at).toEqual(expect.any(Number));
  });

  it("refuses a weak password without spending the token, and an expired token", async () => {
    const { email } = await registerUser();
    await api("/v1/auth/password/forgot", { json: { email } });
    await expect.poll(() => outboxCount(email, "resetPassword")).toBe(1);
    const token = await emailedToken(email, "resetPassword");
    const weak = await api("/v1/auth/password/reset", { json: { token, password: "12345678" } });
    expectProblem(weak, 400, "validation_failed");
    const strong = await api("/v1/auth/password/reset", { json: { token, password: "a brand new passphrase" } });
    expect(strong.status).toBe(204);

    await api("/v1/auth/password/forgot", { json: { email } });
    await expect.poll(() => outboxCount(email, "resetPassword")).toBe(2);
    const later = await emailedToken(email, "resetPassword");
    testClock.advance(RESET_TOKEN_TTL_MS + 1);
    const expired = await api("/v1/auth/password/reset", {
      json: { token: later, password: "yet another passphrase" },
    });
    expectProblem(expired, 400, "invalid_token");
  });

  it("refuses bad input", async () => {
    expectProblem(await api("/v1/auth/password/forgot", { json: { email: "nope" } }), 400, "validation_failed");
    expectProblem(
      await api("/v1/auth/password/reset", { json: { token: "", password: "x" } }),
      400,
      "validation_failed",
    );
  });
});

describe("POST /v1/me/email", () => {
  it("changes the email only once the new address is verified", async () => {
    const { email, password, tokens } = await registerUser();
    const newEmail = `moved-${crypto.randomUUID().slice(0, 8)}@example.com`;
    const response = await api("/v1/me/email", { json: { newEmail, password }, headers: bearer(tokens.accessToken) });
    expect(response.status).toBe(202);
    expect((await me(tokens.accessToken)).body.email).toBe(email);
    await api("/v1/auth/verify-email", { json: { token: await emailedToken(newEmail, "changeEmail") } });
    expect((await me(tokens.accessToken)).body).toMatchObject({ email: newEmail, emailVerified: true });
    expect((await api("/v1/auth/login", { json: { email: newEmail, password } })).status).toBe(200);
    expectProblem(await api("/v1/auth/login", { json: { email, password } }), 401, "invalid_credentials");
  });

  it("refuses a wrong password and the current address; says nothing of a taken one", async () => {
    const { email, password, tokens } = await registerUser();
    const other = await registerUser();
    const post = (json: unknown) => api("/v1/me/email", { json, headers: bearer(tokens.accessToken) });
    expectProblem(await post({ newEmail: "fresh@example.com", password: "wrong password!" }), 400, "validation_failed");
    // A taken address answers like a free one (no enumeration) but gets no link.
    const taken = await post({ newEmail: other.email, password });
    expect([taken.status, taken.text]).toEqual([202, ""]);
    expect(await outboxCount(other.email, "changeEmail")).toBe(0);
    expectProblem(await post({ newEmail: email, password }), 400, "validation_failed");
    expect(await outboxCount("fresh@example.com", "changeEmail")).toBe(0);
  });
});

describe("email delivery", () => {
  it("goes through the real queue; the log provider keeps the message in the outbox", async () => {
    const { email } = await registerUser();
    await expect
      .poll(
        async () =>
          (
            await env.DB.prepare("SELECT status FROM email_outbox WHERE to_address = ?")
              .bind(email)
              .first<{ status: string }>()
          )?.status,
        { timeout: 10_000 },
      )
      .toBe("logged");
  });
});

describe("register with a used email after an email change", () => {
  it("frees nothing: the old address can register again only after the change", async () => {
    const { email, password, tokens } = await registerUser();
    const newEmail = `new-${crypto.randomUUID().slice(0, 8)}@example.com`;
    await api("/v1/me/email", { json: { newEmail, password }, headers: bearer(tokens.accessToken) });
    expectProblem(
      await api("/v1/auth/register", { json: { email, password: "some other passphrase", name: "Twin" } }),
      409,
      "conflict",
    );
    await api("/v1/auth/verify-email", { json: { token: await emailedToken(newEmail, "changeEmail") } });
    const again = await api<{ tokens: Tokens }>("/v1/auth/register", {
      json: { email, password: "some other passphrase", name: "Newcomer" },
    });
    expect(again.status).toBe(201);
  });
});
