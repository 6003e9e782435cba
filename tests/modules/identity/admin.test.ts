import { afterEach, describe, expect, it } from "vitest";
import { testClock } from "../../../src/platform/clock";
import { api, expectProblem } from "../../helpers/client";
import { as, platformAdmin, registerUser } from "../../helpers/identity";

afterEach(() => testClock.reset());

describe("GET /v1/admin/users", () => {
  it("lists users with filters and pagination, for platform admins only", async () => {
    const admin = await platformAdmin();
    const tag = crypto.randomUUID().slice(0, 6);
    for (let i = 0; i < 3; i++) await registerUser({ email: `filter-${tag}-${i}@example.com` });
    await registerUser({ email: `filter_${tag}@example.com` });
    const first = await api<{ items: { email: string; disabled: boolean }[]; nextCursor: string | null }>(
      `/v1/admin/users?emailPrefix=filter-${tag}&limit=2`,
      { headers: as(admin) },
    );
    expect(first.status).toBe(200);
    expect(first.body.items.map((user) => user.email)).toEqual([
      `filter-${tag}-0@example.com`,
      `filter-${tag}-1@example.com`,
    ]);
    const second = await api<{ items: { email: string }[]; nextCursor: string | null }>(
      `/v1/admin/users?emailPrefix=filter-${tag}&limit=2&cursor=${first.body.nextCursor}`,
      { headers: as(admin) },
    );
    expect(second.body.items.map((user) => user.email)).toEqual([`filter-${tag}-2@example.com`]);
    // "_" is literal in the prefix, not a wildcard.
    const literal = await api<{ items: { email: string }[] }>(`/v1/admin/users?emailPrefix=filter_${tag}`, {
      headers: as(admin),
    });
    expect(literal.body.items.map((user) => user.email)).toEqual([`filter_${tag}@example.com`]);
    const admins = await api<{ items: { role: string }[] }>("/v1/admin/users?role=admin", { headers: as(admin) });
    expect(admins.body.items.every((user) => user.role === "admin")).toBe(true);
  });

  it("refuses ordinary users (403) and bad filters (400)", async () => {
    const user = await registerUser();
    expectProblem(await api("/v1/admin/users", { headers: as(user) }), 403, "forbidden");
    expectProblem(await api("/v1/admin/audit", { headers: as(user) }), 403, "forbidden");
    const admin = await platformAdmin();
    expectProblem(await api("/v1/admin/users?role=root", { headers: as(admin) }), 400, "validation_failed");
    expectProblem(await api("/v1/admin/users?sort=email", { headers: as(admin) }), 400, "validation_failed");
  });
});

describe("PATCH /v1/admin/users/:id", () => {
  it("disabling revokes sessions at once and is audited", async () => {
    const admin = await platformAdmin();
    const target = await registerUser();
    const response = await api(`/v1/admin/users/${target.user.id}`, {
      method: "PATCH",
      json: { disabled: true },
      headers: { ...as(admin), "x-request-id": "admin-action-0001" },
    });
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ id: target.user.id, disabled: true });
    expectProblem(
      await api("/v1/auth/refresh", { json: { refreshToken: target.tokens.refreshToken } }),
      401,
      "invalid_refresh_token",
    );
    expectProblem(await api("/v1/me", { headers: as(target) }), 401, "unauthorized");
    expectProblem(
      await api("/v1/auth/login", { json: { email: target.email, password: target.password } }),
      401,
      "invalid_credentials",
    );
    const audit = await api<{ items: { action: string; targetId: string; requestId: string; details: unknown }[] }>(
      "/v1/admin/audit?limit=5",
      { headers: as(admin) },
    );
    expect(audit.body.items[0]).toMatchObject({
      action: "admin.user_updated",
      targetId: target.user.id,
      requestId: "admin-action-0001",
      details: { disabled: true },
    });
  });

  it("a role change applies within the cache bound", async () => {
    const admin = await platformAdmin();
    const target = await registerUser();
    expectProblem(await api("/v1/admin/users", { headers: as(target) }), 403, "forbidden");
    await api(`/v1/admin/users/${target.user.id}`, { method: "PATCH", json: { role: "admin" }, headers: as(admin) });
    // Another isolate would still hold the old role for up to 30 s.
    expectProblem(await api("/v1/admin/users", { headers: as(target) }), 403, "forbidden");
    testClock.advance(30_001);
    expect((await api("/v1/admin/users", { headers: as(target) })).status).toBe(200);
  });

  it("refuses self-changes (409), unknown users (404) and bad bodies (400)", async () => {
    const admin = await platformAdmin();
    const path = `/v1/admin/users/${admin.user.id}`;
    expectProblem(await api(path, { method: "PATCH", json: { role: "user" }, headers: as(admin) }), 409, "conflict");
    expectProblem(
      await api("/v1/admin/users/usr_01JD0000000000000000000000", {
        method: "PATCH",
        json: { disabled: true },
        headers: as(admin),
      }),
      404,
      "not_found",
    );
    const target = await registerUser();
    for (const json of [{}, { role: "root" }, { disabled: "yes" }, { email: "x@example.com" }]) {
      expectProblem(
        await api(`/v1/admin/users/${target.user.id}`, { method: "PATCH", json, headers: as(admin) }),
        400,
        "validation_failed",
      );
    }
  });
});
