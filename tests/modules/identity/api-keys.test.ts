import { env } from "cloudflare:test";
import { z } from "@hono/zod-openapi";
import { afterEach, describe, expect, it } from "vitest";
import { authRoute } from "../../../src/middleware/auth";
import { LAST_USED_RESOLUTION_MS } from "../../../src/modules/identity/session-cache";
import { testClock } from "../../../src/platform/clock";
import { api, expectProblem } from "../../helpers/client";
import { as, bearer, emailedToken, type Registered, registerUser } from "../../helpers/identity";
import { expectMatrix, roleMatrix } from "../../helpers/roles";
import { testApp } from "../../helpers/test-app";

afterEach(() => testClock.reset());

type Created = { apiKey: { id: string; prefix: string; scopes: string[]; orgId: string | null }; secret: string };

const createKey = (user: Registered, json: Record<string, unknown>) =>
  api<Created>("/v1/api-keys", { json: { name: "ci", scopes: ["ai"], ...json }, headers: as(user) });

/** A route that takes keys with the `ai` scope and answers who and for which account it acts. */
const { app, call } = testApp();
const whoami = authRoute(
  {
    method: "get",
    path: "/test/whoami",
    responses: {
      200: {
        description: "who",
        content: { "application/json": { schema: z.object({ principal: z.unknown(), account: z.unknown() }) } },
      },
    },
  },
  { scope: "ai" },
);
app.openapi(whoami, (c) => c.json({ principal: c.get("principal") ?? null, account: c.get("account") ?? null }, 200));
const whoAmI = (headers: Record<string, string>) =>
  call("/test/whoami", { headers }) as Promise<{ status: number; body: Record<string, Record<string, unknown>> }>;

describe("API keys", () => {
  it("are created with the secret shown once and stored hashed", async () => {
    const user = await registerUser();
    const created = await createKey(user, { name: "deploy bot", scopes: ["ai", "translate", "ai"] });
    expect(created.status).toBe(201);
    expect(created.body.secret).toMatch(/^sk_[A-Za-z0-9_-]{43}$/);
    expect(created.body.apiKey).toMatchObject({
      prefix: created.body.secret.slice(0, 11),
      scopes: ["ai", "translate"],
      orgId: null,
    });
    const row = await env.DB.prepare("SELECT * FROM api_keys WHERE id = ?")
      .bind(created.body.apiKey.id)
      .first<Record<string, string>>();
    expect(JSON.stringify(row)).not.toContain(created.body.secret);
    const list = await api<{ items: { id: string }[] }>("/v1/api-keys", { headers: as(user) });
    expect(JSON.stringify(list.body)).not.toContain(created.body.secret);
    expect(list.body.items.map((item) => item.id)).toEqual([created.body.apiKey.id]);
  });

  it("authenticate scoped routes as their user, with the user's account", async () => {
    const user = await registerUser();
    const { secret, apiKey } = (await createKey(user, {})).body;
    const response = await whoAmI(bearer(secret));
    expect(response.status).toBe(200);
    expect(response.body.principal).toMatchObject({
      id: user.user.id,
      via: "api_key",
      platformRole: "user",
      keyId: apiKey.id,
    });
    expect(response.body.account).toEqual({ type: "user", id: user.user.id });
  });

  it("are refused (403) on routes that take no key, and without the route's scope", async () => {
    const user = await registerUser();
    const { secret } = (await createKey(user, {})).body;
    expectProblem(await api("/v1/me", { headers: bearer(secret) }), 403, "forbidden");
    expectProblem(
      await api("/v1/api-keys", { json: { name: "x", scopes: ["ai"] }, headers: bearer(secret) }),
      403,
      "forbidden",
    );
    const translateOnly = (await createKey(user, { scopes: ["translate"] })).body.secret;
    const refused = await whoAmI(bearer(translateOnly));
    expect(refused.status).toBe(403);
  });

  it("never carry platform-admin rights", async () => {
    const admin = await registerUser();
    await env.DB.prepare("UPDATE users SET role = 'admin' WHERE id = ?").bind(admin.user.id).run();
    const { secret } = (await createKey(admin, {})).body;
    expectProblem(await api("/v1/admin/users", { headers: bearer(secret) }), 403, "forbidden");
    expect((await whoAmI(bearer(secret))).body.principal?.platformRole).toBe("user");
  });

  it("stop working when revoked, expired, or their user is disabled", async () => {
    const user = await registerUser();
    const revoked = (await createKey(user, {})).body;
    expect((await api(`/v1/api-keys/${revoked.apiKey.id}`, { method: "DELETE", headers: as(user) })).status).toBe(204);
    expect((await whoAmI(bearer(revoked.secret))).status).toBe(401);

    const expiring = (await createKey(user, { expiresAt: new Date(Date.now() + 60_000).toISOString() })).body;
    expect((await whoAmI(bearer(expiring.secret))).status).toBe(200);
    testClock.advance(61_000);
    expect((await whoAmI(bearer(expiring.secret))).status).toBe(401);
    testClock.reset();

    const other = await registerUser();
    const key = (await createKey(other, {})).body;
    expect((await whoAmI(bearer(key.secret))).status).toBe(200);
    await env.DB.prepare("UPDATE users SET disabled_at = 1 WHERE id = ?").bind(other.user.id).run();
    testClock.advance(30_001);
    expect((await whoAmI(bearer(key.secret))).status).toBe(401);
  });

  it("cannot be revoked by someone else (404) and refuse bad input", async () => {
    const owner = await registerUser();
    const stranger = await registerUser();
    const { apiKey } = (await createKey(owner, {})).body;
    expectProblem(
      await api(`/v1/api-keys/${apiKey.id}`, { method: "DELETE", headers: as(stranger) }),
      404,
      "not_found",
    );
    for (const json of [
      { scopes: [] },
      { scopes: ["admin"] },
      { name: "" },
      { expiresAt: "tomorrow" },
      { userId: "usr_x" },
    ]) {
      expectProblem(await createKey(owner, json), 400, "validation_failed");
    }
    expectProblem(await createKey(owner, { expiresAt: "2001-01-01T00:00:00Z" }), 400, "validation_failed");
  });

  it("record their last use without a write on every request", async () => {
    const user = await registerUser();
    const { secret, apiKey } = (await createKey(user, {})).body;
    const lastUsed = async () =>
      (
        await env.DB.prepare("SELECT last_used_at FROM api_keys WHERE id = ?")
          .bind(apiKey.id)
          .first<{ last_used_at: number | null }>()
      )?.last_used_at;
    await whoAmI(bearer(secret));
    const first = await lastUsed();
    expect(first).toEqual(expect.any(Number));
    await whoAmI(bearer(secret));
    expect(await lastUsed()).toBe(first);
    testClock.advance(LAST_USED_RESOLUTION_MS + 1);
    await whoAmI(bearer(secret));
    expect(await lastUsed()).toBeGreaterThan(first as number);
  });
});

describe("org keys and the account context", () => {
  async function orgWithMember() {
    const owner = await registerUser();
    const admin = await registerUser();
    await api("/v1/auth/verify-email", { json: { token: await emailedToken(admin.email, "verifyEmail") } });
    const org = (await api<{ id: string }>("/v1/orgs", { json: { name: "Keys Inc" }, headers: as(owner) })).body;
    await api(`/v1/orgs/${org.id}/invitations`, { json: { email: admin.email, role: "admin" }, headers: as(owner) });
    await api("/v1/invitations/accept", {
      json: { token: await emailedToken(admin.email, "invitation") },
      headers: as(admin),
    });
    return { owner, admin, org };
  }

  it("an org key acts for its org, and stops when its creator leaves", async () => {
    const { owner, admin, org } = await orgWithMember();
    const created = await createKey(admin, { orgId: org.id });
    expect(created.status).toBe(201);
    const key = created.body.secret;
    expect((await whoAmI(bearer(key))).body.account).toEqual({ type: "org", id: org.id, role: "admin" });
    const otherOrg = await whoAmI({ ...bearer(key), "x-stratus-org": "org_01JD0000000000000000000000" });
    expect([otherOrg.status, otherOrg.body.code]).toEqual([404, "not_found"]);
    await api(`/v1/orgs/${org.id}/members/${admin.user.id}`, { method: "DELETE", headers: as(owner) });
    testClock.advance(30_001);
    expect((await whoAmI(bearer(key))).status).toBe(401);
  });

  it("members below admin cannot create org keys; strangers get 404", async () => {
    const cast = await roleMatrix();
    const { owner, admin, org } = cast;
    const refused = [403, "forbidden"] as const;
    await expectMatrix(
      cast,
      { path: "/v1/api-keys", json: { name: "ci", scopes: ["ai"], orgId: org.id }, org: false },
      // Keys create no keys, whatever their scope.
      {
        owner: 201,
        admin: 201,
        member: refused,
        outsider: [404, "not_found"],
        keyWithScope: refused,
        keyWithoutScope: refused,
      },
    );
    // An admin demoted to member is refused alike.
    await api(`/v1/orgs/${org.id}/members/${admin.user.id}`, {
      method: "PATCH",
      json: { role: "member" },
      headers: as(owner),
    });
    expectProblem(await createKey(admin, { orgId: org.id }), 403, "forbidden");
    const stranger = await registerUser();
    expectProblem(await createKey(stranger, { orgId: org.id }), 404, "not_found");
  });

  it("an org key dies with its creator's right to hold it, and does not revive on rejoin", async () => {
    const { owner, admin, org } = await orgWithMember();
    const key = (await createKey(admin, { orgId: org.id })).body.secret;
    expect((await whoAmI(bearer(key))).status).toBe(200);
    // Demoted to member: the key is refused at once in this isolate, and revoked for good.
    await api(`/v1/orgs/${org.id}/members/${admin.user.id}`, {
      method: "PATCH",
      json: { role: "member" },
      headers: as(owner),
    });
    expect((await whoAmI(bearer(key))).status).toBe(401);
    await api(`/v1/orgs/${org.id}/members/${admin.user.id}`, {
      method: "PATCH",
      json: { role: "admin" },
      headers: as(owner),
    });
    testClock.advance(30_001);
    expect((await whoAmI(bearer(key))).status).toBe(401);
  });

  it("X-Stratus-Org or OpenAI-Organization picks an org the caller belongs to, else 404", async () => {
    const { owner, org } = await orgWithMember();
    expect((await whoAmI({ ...as(owner), "x-stratus-org": org.id })).body.account).toEqual({
      type: "org",
      id: org.id,
      role: "owner",
    });
    const userKey = (await createKey(owner, {})).body.secret;
    expect((await whoAmI({ ...bearer(userKey), "openai-organization": org.id })).body.account).toEqual({
      type: "org",
      id: org.id,
      role: "owner",
    });
    const stranger = await registerUser();
    expect((await whoAmI({ ...as(stranger), "x-stratus-org": org.id })).status).toBe(404);
    expect((await whoAmI(as(owner))).body.account).toEqual({ type: "user", id: owner.user.id });
  });
});

describe("GET /v1/api-keys", () => {
  it("lists live keys only: revoked and expired ones drop out", async () => {
    const user = await registerUser();
    const live = (await createKey(user, { name: "live" })).body.apiKey.id;
    const revoked = (await createKey(user, { name: "revoked" })).body.apiKey.id;
    await createKey(user, { name: "expiring", expiresAt: new Date(Date.now() + 60_000).toISOString() });
    await api(`/v1/api-keys/${revoked}`, { method: "DELETE", headers: as(user) });
    testClock.advance(61_000);
    const list = await api<{ items: { id: string }[] }>("/v1/api-keys", { headers: as(user) });
    expect(list.body.items.map((item) => item.id)).toEqual([live]);
  });
});
