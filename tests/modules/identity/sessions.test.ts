import { env } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import { SESSION_SLIDING_MS } from "../../../src/modules/identity/sessions";
import { testClock } from "../../../src/platform/clock";
import { api, expectProblem } from "../../helpers/client";
import { bearer, registerUser, type Tokens } from "../../helpers/identity";

afterEach(() => testClock.reset());

const refresh = (refreshToken: string) => api<Tokens>("/v1/auth/refresh", { json: { refreshToken } });
const me = (token: string) => api("/v1/me", { headers: bearer(token) });
const sessionRow = (id: string) =>
  env.DB.prepare("SELECT * FROM sessions WHERE id = ?")
    .bind(id)
    .first<{ revoked_at: number | null; revoked_reason: string | null }>();
const sessionIdOf = (accessToken: string) =>
  JSON.parse(atob((accessToken.split(".")[1] as string).replaceAll("-", "+").replaceAll("_", "/"))).sid as string;

describe("POST /v1/auth/refresh", () => {
  it("rotates: a new pair, and the same session", async () => {
    const { tokens } = await registerUser();
    const next = await refresh(tokens.refreshToken);
    expect(next.status).toBe(200);
    expect(next.body.refreshToken).not.toBe(tokens.refreshToken);
    expect(sessionIdOf(next.body.accessToken)).toBe(sessionIdOf(tokens.accessToken));
    expect((await refresh(next.body.refreshToken)).status).toBe(200);
  });

  it("lets two concurrent refreshes of one token both succeed inside the interval", async () => {
    const { tokens } = await registerUser();
    const [a, b] = await Promise.all([refresh(tokens.refreshToken), refresh(tokens.refreshToken)]);
    expect([a.status, b.status]).toEqual([200, 200]);
    expect(a.body.refreshToken).not.toBe(b.body.refreshToken);
    expect((await me(a.body.accessToken)).status).toBe(200);
    expect((await refresh(b.body.refreshToken)).status).toBe(200);
  });

  it("revokes the whole session when a rotated token comes back after the interval", async () => {
    const { tokens } = await registerUser();
    const next = await refresh(tokens.refreshToken);
    testClock.advance(11_000);
    const reused = await refresh(tokens.refreshToken);
    expectProblem(reused, 401, "refresh_token_reused");
    expect((await sessionRow(sessionIdOf(tokens.accessToken)))?.revoked_reason).toBe("refresh_token_reused");
    // The thief's and the owner's newer tokens die with the session.
    expectProblem(await refresh(next.body.refreshToken), 401, "invalid_refresh_token");
    expectProblem(await me(next.body.accessToken), 401, "unauthorized");
  });

  it("refuses an unknown token and bad input, writing nothing", async () => {
    expectProblem(await refresh("never-issued-token"), 401, "invalid_refresh_token");
    expectProblem(await api("/v1/auth/refresh", { json: {} }), 400, "validation_failed");
    expectProblem(await api("/v1/auth/refresh", { json: { refreshToken: "x", extra: 1 } }), 400, "validation_failed");
  });

  it("slides 30 days from the last refresh", async () => {
    const { tokens } = await registerUser();
    testClock.advance(SESSION_SLIDING_MS - 60_000);
    const kept = await refresh(tokens.refreshToken);
    expect(kept.status).toBe(200);
    testClock.advance(SESSION_SLIDING_MS + 60_000);
    expectProblem(await refresh(kept.body.refreshToken), 401, "invalid_refresh_token");
  });

  it("ends 90 days after sign-in however often it is refreshed", async () => {
    let { tokens } = await registerUser();
    for (let day = 0; day < 4; day++) {
      testClock.advance(25 * 24 * 60 * 60 * 1000);
      const next = await refresh(tokens.refreshToken);
      if (day < 3) {
        expect(next.status).toBe(200);
        tokens = next.body;
      } else {
        expectProblem(next, 401, "invalid_refresh_token");
      }
    }
  });
});

describe("logout", () => {
  it("ends this session: refresh fails at once, the access token too", async () => {
    const { tokens } = await registerUser();
    const other = await api<{ tokens: Tokens }>("/v1/auth/login", {
      json: {
        email: (await api<{ email: string }>("/v1/me", { headers: bearer(tokens.accessToken) })).body.email,
        password: "a long and unusual passphrase",
      },
    });
    const response = await api("/v1/auth/logout", { method: "POST", headers: bearer(tokens.accessToken) });
    expect(response.status).toBe(204);
    expectProblem(await refresh(tokens.refreshToken), 401, "invalid_refresh_token");
    expectProblem(await me(tokens.accessToken), 401, "unauthorized");
    expect((await me(other.body.tokens.accessToken)).status).toBe(200);
  });

  it("logout-all ends every session of the user", async () => {
    const { tokens, email, password } = await registerUser();
    const second = await api<{ tokens: Tokens }>("/v1/auth/login", { json: { email, password } });
    expect((await api("/v1/auth/logout-all", { method: "POST", headers: bearer(tokens.accessToken) })).status).toBe(
      204,
    );
    expectProblem(await refresh(second.body.tokens.refreshToken), 401, "invalid_refresh_token");
    expectProblem(await me(second.body.tokens.accessToken), 401, "unauthorized");
  });

  it("takes effect elsewhere within the 30 s cache bound", async () => {
    const { tokens } = await registerUser();
    expect((await me(tokens.accessToken)).status).toBe(200);
    // Revoked by another isolate: this one still holds the session as live in its cache.
    await env.DB.prepare("UPDATE sessions SET revoked_at = 1 WHERE id = ?").bind(sessionIdOf(tokens.accessToken)).run();
    expect((await me(tokens.accessToken)).status).toBe(200);
    testClock.advance(30_001);
    expectProblem(await me(tokens.accessToken), 401, "unauthorized");
  });
});

describe("GET and DELETE /v1/me/sessions", () => {
  it("lists the caller's live sessions, newest first, paginated", async () => {
    const { tokens, email, password } = await registerUser();
    for (let i = 0; i < 2; i++) await api("/v1/auth/login", { json: { email, password } });
    const first = await api<{ items: { id: string; current: boolean }[]; nextCursor: string | null }>(
      "/v1/me/sessions?limit=2",
      { headers: bearer(tokens.accessToken) },
    );
    expect(first.status).toBe(200);
    expect(first.body.items).toHaveLength(2);
    expect(first.body.nextCursor).toEqual(expect.any(String));
    const second = await api<{ items: { id: string; current: boolean }[]; nextCursor: string | null }>(
      `/v1/me/sessions?limit=2&cursor=${first.body.nextCursor}`,
      { headers: bearer(tokens.accessToken) },
    );
    expect(second.body.items).toHaveLength(1);
    expect(second.body.nextCursor).toBeNull();
    expect(second.body.items[0]).toMatchObject({ id: sessionIdOf(tokens.accessToken), current: true });
    expectProblem(
      await api("/v1/me/sessions?limit=500", { headers: bearer(tokens.accessToken) }),
      400,
      "validation_failed",
    );
    expectProblem(
      await api("/v1/me/sessions?cursor=bogus", { headers: bearer(tokens.accessToken) }),
      400,
      "validation_failed",
    );
  });

  it("ends one session; another user's session answers 404", async () => {
    const alice = await registerUser();
    const bob = await registerUser();
    const bobSession = sessionIdOf(bob.tokens.accessToken);
    expectProblem(
      await api(`/v1/me/sessions/${bobSession}`, { method: "DELETE", headers: bearer(alice.tokens.accessToken) }),
      404,
      "not_found",
    );
    expect((await sessionRow(bobSession))?.revoked_at).toBeNull();
    const own = await api(`/v1/me/sessions/${sessionIdOf(alice.tokens.accessToken)}`, {
      method: "DELETE",
      headers: bearer(alice.tokens.accessToken),
    });
    expect(own.status).toBe(204);
    expectProblem(await refresh(alice.tokens.refreshToken), 401, "invalid_refresh_token");
  });
});

describe("session last use", () => {
  it("is recorded at most every five minutes, from access-token use", async () => {
    const { tokens } = await registerUser();
    const lastUsed = async () =>
      (
        await env.DB.prepare("SELECT last_used_at FROM sessions WHERE id = ?")
          .bind(sessionIdOf(tokens.accessToken))
          .first<{ last_used_at: number }>()
      )?.last_used_at as number;
    const started = await lastUsed();
    await me(tokens.accessToken);
    expect(await lastUsed()).toBe(started);
    testClock.advance(6 * 60 * 1000);
    await me(tokens.accessToken);
    await expect.poll(lastUsed).toBeGreaterThan(started);
  });
});
