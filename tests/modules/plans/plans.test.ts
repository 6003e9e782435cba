import { env } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import { wireModules } from "../../../src/modules";
import { effectivePlan, subscriptionPlanPort } from "../../../src/modules/plans/api";
import { testClock } from "../../../src/platform/clock";
import { api, expectProblem } from "../../helpers/client";
import { as, bearer, platformAdmin, type Registered, registerUser } from "../../helpers/identity";

afterEach(() => testClock.reset());

const override = (admin: Registered, accountId: string, json: unknown) =>
  api(`/v1/admin/plans/overrides/${accountId}`, { method: "PUT", json, headers: as(admin) });

describe("GET /v1/billing/plans", () => {
  it("lists free, premium and pro with their entitlements, without signing in", async () => {
    const response = await api<{ items: Record<string, unknown>[] }>("/v1/billing/plans");
    expect(response.status).toBe(200);
    expect(response.body.items.map((plan) => plan.id)).toEqual(["free", "premium", "pro"]);
    expect(response.body.items[0]).toMatchObject({
      name: "Free",
      requestsPerMinute: 60,
      aiRequestsPerMinute: 10,
      orgRequestsPerMinute: null,
      bulkJobs: false,
      maxOrgMembers: 3,
    });
    expect(response.body.items[2]).toMatchObject({ orgRequestsPerMinute: 10000, bulkJobs: true });
    expect(response.headers.get("cache-control")).toBe("public, max-age=60");
  });
});

describe("effective plan and admin overrides", () => {
  it("is free by default; an override wins until deleted", async () => {
    const admin = await platformAdmin();
    const user = await registerUser();
    expect((await effectivePlan(env, user.user.id)).id).toBe("free");
    const set = await override(admin, user.user.id, { planId: "premium" });
    expect(set.status).toBe(200);
    expect(set.body).toMatchObject({ accountId: user.user.id, planId: "premium", setBy: admin.user.id });
    expect((await effectivePlan(env, user.user.id)).id).toBe("premium");
    expect((await override(admin, user.user.id, { planId: "pro" })).status).toBe(200);
    expect((await effectivePlan(env, user.user.id)).id).toBe("pro");
    const removed = await api(`/v1/admin/plans/overrides/${user.user.id}`, { method: "DELETE", headers: as(admin) });
    expect(removed.status).toBe(204);
    expect((await effectivePlan(env, user.user.id)).id).toBe("free");
    expectProblem(
      await api(`/v1/admin/plans/overrides/${user.user.id}`, { method: "DELETE", headers: as(admin) }),
      404,
      "not_found",
    );
  });

  it("follows the subscription when there is no override; an override still wins", async () => {
    const admin = await platformAdmin();
    const user = await registerUser();
    subscriptionPlanPort.wire(async (_env, accountId) => (accountId === user.user.id ? "premium" : null));
    try {
      expect((await effectivePlan(env, user.user.id)).id).toBe("premium");
      await override(admin, user.user.id, { planId: "pro" });
      expect((await effectivePlan(env, user.user.id)).id).toBe("pro");
    } finally {
      wireModules();
    }
  });

  it("works for organizations too", async () => {
    const admin = await platformAdmin();
    const owner = await registerUser();
    const org = (await api<{ id: string }>("/v1/orgs", { json: { name: "Plan Co" }, headers: as(owner) })).body;
    expect((await override(admin, org.id, { planId: "pro" })).status).toBe(200);
    expect((await effectivePlan(env, org.id)).id).toBe("pro");
  });

  it("applies within the 30 s cache bound when changed elsewhere", async () => {
    const user = await registerUser();
    expect((await effectivePlan(env, user.user.id)).id).toBe("free");
    // Another isolate sets the override: this one keeps its cached plan for up to 30 s.
    await env.DB.prepare(
      "INSERT INTO plan_overrides (account_id, plan_id, set_by, created_at) VALUES (?, 'premium', 'usr_x', 0)",
    )
      .bind(user.user.id)
      .run();
    expect((await effectivePlan(env, user.user.id)).id).toBe("free");
    testClock.advance(30_001);
    expect((await effectivePlan(env, user.user.id)).id).toBe("premium");
  });

  it("records the admin actions in the audit log", async () => {
    const admin = await platformAdmin();
    const user = await registerUser();
    await override(admin, user.user.id, { planId: "premium" });
    const audit = await api<{ items: { action: string; targetId: string }[] }>("/v1/admin/audit?limit=1", {
      headers: as(admin),
    });
    expect(audit.body.items[0]).toMatchObject({ action: "admin.plan_override_set", targetId: user.user.id });
  });

  it("refuses non-admins, keys, unknown plans and accounts, and bad ids, writing nothing", async () => {
    const admin = await platformAdmin();
    const user = await registerUser();
    expectProblem(await override(user, user.user.id, { planId: "pro" }), 403, "forbidden");
    const key = await api<{ secret: string }>("/v1/api-keys", {
      json: { name: "k", scopes: ["ai"] },
      headers: as(admin),
    });
    expectProblem(
      await api(`/v1/admin/plans/overrides/${user.user.id}`, {
        method: "PUT",
        json: { planId: "pro" },
        headers: bearer(key.body.secret),
      }),
      403,
      "forbidden",
    );
    const unknownPlan = expectProblem(
      await override(admin, user.user.id, { planId: "platinum" }),
      400,
      "validation_failed",
    );
    expect(unknownPlan.errors).toEqual([{ path: "body.planId", message: "unknown plan" }]);
    expectProblem(await override(admin, "usr_01JD0000000000000000000000", { planId: "pro" }), 404, "not_found");
    expectProblem(await override(admin, "acct_1", { planId: "pro" }), 400, "validation_failed");
    expectProblem(await override(admin, user.user.id, { planId: "pro", price: 0 }), 400, "validation_failed");
    const rows = await env.DB.prepare("SELECT count(*) AS n FROM plan_overrides WHERE account_id = ?")
      .bind(user.user.id)
      .first<{ n: number }>();
    expect(rows?.n).toBe(0);
  });
});
