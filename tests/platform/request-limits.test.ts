import {
  abortAllDurableObjects,
  env,
  evictDurableObject,
  runDurableObjectAlarm,
  runInDurableObject,
} from "cloudflare:test";
import { z } from "@hono/zod-openapi";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { authRoute } from "../../src/middleware/auth";
import { testClock } from "../../src/platform/clock";
import { jsonResponse } from "../../src/platform/openapi";
import { type ApiResponse, api, expectProblem } from "../helpers/client";
import { as, bearer, platformAdmin, type Registered, registerUser } from "../helpers/identity";
import { createOrg, join, verified } from "../helpers/orgs";
import { testApp } from "../helpers/test-app";

beforeEach(() => testClock.freeze());
afterEach(() => {
  testClock.reset();
  vi.restoreAllMocks();
});

/** A plan of its own for a test, so limits are small and known. */
async function planWith(limits: { perMinute: number; orgPerMinute?: number }) {
  const id = `test-${crypto.randomUUID().slice(0, 8)}`;
  await env.DB.prepare(
    `INSERT INTO plans (id, name, rank, requests_per_minute, auth_requests_per_minute, ai_requests_per_minute,
       upload_requests_per_minute, org_requests_per_minute, monthly_included_millicredits, max_upload_bytes,
       storage_quota_bytes, translated_characters_per_month, bulk_jobs, max_org_members)
     VALUES (?, 'Test', 99, ?, 10, 10, 10, ?, 0, 1, 1, 1, 0, 10)`,
  )
    .bind(id, limits.perMinute, limits.orgPerMinute ?? null)
    .run();
  return id;
}

let admin: Registered | undefined;
async function putOnPlan(accountId: string, planId: string) {
  admin ??= await platformAdmin();
  const response = await api(`/v1/admin/plans/overrides/${accountId}`, {
    method: "PUT",
    json: { planId },
    headers: as(admin),
  });
  if (response.status !== 200) throw new Error(`override failed: ${response.text}`);
}

async function userOnPlan(perMinute: number) {
  const user = await registerUser();
  await putOnPlan(user.user.id, await planWith({ perMinute }));
  return user;
}

const me = (headers: Record<string, string>) => api("/v1/me", { headers });
const burst = (count: number, send: () => Promise<ApiResponse>) => Promise.all(Array.from({ length: count }, send));
const statuses = (answers: ApiResponse[]) => answers.map((answer) => answer.status);
const allowed = (answers: ApiResponse[]) => answers.filter((answer) => answer.status === 200).length;
const header = (answer: ApiResponse, name: string) => answer.headers.get(name);

/** A route that accepts API keys with the `ai` scope (no production route does yet). */
const { app, call } = testApp();
app.openapi(
  authRoute(
    {
      method: "get",
      path: "/test/keyed",
      responses: { 200: jsonResponse(z.object({ ok: z.boolean() }), "ok") },
    },
    { scope: "ai" },
  ),
  (c) => c.json({ ok: true }, 200),
);

async function apiKeyOf(user: Registered) {
  const created = await api<{ secret: string }>("/v1/api-keys", {
    json: { name: "limits", scopes: ["ai"] },
    headers: as(user),
  });
  if (created.status !== 201) throw new Error(`key failed: ${created.text}`);
  return created.body.secret;
}

describe("request limits", () => {
  it("lets exactly 10 of 50 concurrent requests through a limit of 10 per minute", async () => {
    const user = await userOnPlan(10);
    const answers = await burst(50, () => me(as(user)));
    expect(allowed(answers)).toBe(10);
    for (const answer of answers.filter((a) => a.status !== 200)) {
      expectProblem(answer, 429, "rate_limited");
      expect(header(answer, "retry-after")).toBe("6");
      expect(header(answer, "ratelimit-limit")).toBe("10");
      expect(header(answer, "ratelimit-remaining")).toBe("0");
    }
    const remaining = answers.filter((a) => a.status === 200).map((a) => Number(header(a, "ratelimit-remaining")));
    expect(remaining.sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    // The charges of concurrent calls are written together; none is lost if the object dies.
    await abortAllDurableObjects();
    expectProblem(await me(as(user)), 429, "rate_limited");
  });

  it("puts the headers on allowed answers: limit, what is left, seconds until full", async () => {
    const user = await userOnPlan(10);
    const first = await me(as(user));
    expect(first.status).toBe(200);
    expect([
      header(first, "ratelimit-limit"),
      header(first, "ratelimit-remaining"),
      header(first, "ratelimit-reset"),
    ]).toEqual(["10", "9", "6"]);
    expect(header(first, "retry-after")).toBeNull();
    expect(header(first, "server-timing")).toMatch(/^limit;dur=[\d.]+, handler;dur=/);
    const second = await me(as(user));
    expect([header(second, "ratelimit-remaining"), header(second, "ratelimit-reset")]).toEqual(["8", "12"]);
  });

  it("refills as the clock moves: one request per 6 s, all 10 after a minute", async () => {
    const user = await userOnPlan(10);
    expect(allowed(await burst(12, () => me(as(user))))).toBe(10);
    testClock.advance(5_999);
    expectProblem(await me(as(user)), 429, "rate_limited");
    testClock.advance(1);
    expect(statuses(await burst(2, () => me(as(user)))).sort()).toEqual([200, 429]);
    testClock.advance(60_000);
    expect(allowed(await burst(12, () => me(as(user))))).toBe(10);
  });

  it("differs by tier: free, premium and an admin override", async () => {
    const free = await registerUser();
    expect(header(await me(as(free)), "ratelimit-limit")).toBe("60");
    const premium = await registerUser();
    await putOnPlan(premium.user.id, "premium");
    expect(header(await me(as(premium)), "ratelimit-limit")).toBe("600");
    const tiny = await userOnPlan(3);
    expect(statuses(await burst(4, () => me(as(tiny)))).sort()).toEqual([200, 200, 200, 429]);
    expect(statuses(await burst(4, () => me(as(free))))).toEqual([200, 200, 200, 200]);
  });

  it("limits anonymous callers per IP address, IPv6 per /64", async () => {
    const anonymous = (ip: string) => api("/.well-known/jwks.json", { headers: { "cf-connecting-ip": ip } });
    const v6 = await Promise.all(
      Array.from({ length: 61 }, (_, i) => anonymous(`2001:db8:${i % 2 ? "aaaa" : "AAAA"}:1::${i.toString(16)}`)),
    );
    expect(allowed(v6)).toBe(60);
    expect((await anonymous("2001:db8:aaaa:2::1")).status).toBe(200);
    expect(header(await anonymous("203.0.113.9"), "ratelimit-remaining")).toBe("59");
  });

  it("limits failed authentication per IP like sign-in attempts (10 a minute anonymous)", async () => {
    const ip = "203.0.113.77";
    const bogus = { authorization: `Bearer sk_${"x".repeat(43)}`, "cf-connecting-ip": ip };
    const answers = await burst(11, () => api("/v1/me", { headers: bogus }));
    expect(statuses(answers).sort()).toEqual([...Array(10).fill(401), 429]);
    expect(header(answers.find((a) => a.status === 429) as ApiResponse, "retry-after")).toBe("6");
    // Another address is not affected.
    expect((await api("/v1/me", { headers: { ...bogus, "cf-connecting-ip": "203.0.113.78" } })).status).toBe(401);
  });

  it("exempts a signed-in platform admin, but not the admin's API key", async () => {
    const boss = await platformAdmin();
    await putOnPlan(boss.user.id, await planWith({ perMinute: 2 }));
    const answers = await burst(5, () => me(as(boss)));
    expect(statuses(answers)).toEqual([200, 200, 200, 200, 200]);
    expect(header(answers[0] as ApiResponse, "ratelimit-limit")).toBeNull();
    const key = await apiKeyOf(boss);
    const keyed = await Promise.all(Array.from({ length: 3 }, () => call("/test/keyed", { headers: bearer(key) })));
    expect(keyed.map((answer) => answer.status).sort()).toEqual([200, 200, 429]);
    expect(keyed.find((answer) => answer.status === 200)?.headers.get("ratelimit-limit")).toBe("2");
  });

  it("counts an API key's traffic against the key's own limit, apart from its owner's", async () => {
    const user = await userOnPlan(3);
    const [first, second] = [await apiKeyOf(user), await apiKeyOf(user)];
    const keyed = (key: string) => call("/test/keyed", { headers: bearer(key) });
    expect((await Promise.all([1, 2, 3, 4].map(() => keyed(first)))).filter((a) => a.status === 200)).toHaveLength(3);
    expect((await keyed(second)).status).toBe(200);
    expect((await me(as(user))).status).toBe(200);
  });

  it("caps an org's members together when its plan sets an org-wide cap", async () => {
    const owner = await verified();
    const member = await verified();
    const org = await createOrg(owner);
    await join(org, owner, member, "member");
    await putOnPlan(org.id, await planWith({ perMinute: 100, orgPerMinute: 3 }));
    const inOrg = (user: Registered) =>
      api(`/v1/orgs/${org.id}`, { headers: { ...as(user), "x-stratus-org": org.id } });
    const answers = [...(await burst(2, () => inOrg(owner))), ...(await burst(2, () => inOrg(member)))];
    expect(allowed(answers)).toBe(3);
    const refused = answers.find((answer) => answer.status === 429) as ApiResponse;
    expect(header(refused, "ratelimit-limit")).toBe("3");
    // Acting for themselves, members are not under the org's cap.
    expect((await me(as(member))).status).toBe(200);
  });

  it("keeps counts when the limiter objects are aborted or evicted", async () => {
    const user = await userOnPlan(10);
    expect(allowed(await burst(4, () => me(as(user))))).toBe(4);
    await abortAllDurableObjects();
    expect(allowed(await burst(3, () => me(as(user))))).toBe(3);
    await evictDurableObject(env.RATE_LIMITER.getByName(`usr:${user.user.id}`));
    expect(allowed(await burst(5, () => me(as(user))))).toBe(3);
  });
});

/** A limiter namespace whose objects cannot be reached. */
const broken = {
  getByName: () => ({ decide: () => Promise.reject(new Error("limiter down")) }),
} as unknown as Env["RATE_LIMITER"];

describe("when the limiter cannot be reached", () => {
  it("lets ordinary requests through, with a log line and no limit headers", async () => {
    const user = await registerUser();
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    const answer = await call("/v1/me", { headers: as(user) }, { ...env, LOG_LEVEL: "warn", RATE_LIMITER: broken });
    expect(answer.status).toBe(200);
    expect(answer.headers.get("ratelimit-limit")).toBeNull();
    expect(warn.mock.calls.map(([line]) => JSON.parse(String(line)).message)).toContain(
      "rate limiter unreachable: letting the request through",
    );
  });

  it("refuses auth routes with 503 limiter_unavailable, and nothing is written", async () => {
    vi.spyOn(console, "error").mockImplementation(() => {});
    const email = `closed-${crypto.randomUUID().slice(0, 8)}@example.com`;
    const answer = await call(
      "/v1/auth/register",
      {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ email, password: "a long and unusual passphrase", name: "Closed" }),
      },
      { ...env, RATE_LIMITER: broken },
    );
    expect(answer.status).toBe(503);
    expect(answer.body.code).toBe("limiter_unavailable");
    expect(answer.headers.get("retry-after")).toBe("5");
    expect(await env.DB.prepare("SELECT id FROM users WHERE email = ?").bind(email).first()).toBeNull();
  });
});

describe("when the limiter cannot be reached, routes whose secret is a random token", () => {
  it("proceed (a dead limiter must not end every session at refresh)", async () => {
    vi.spyOn(console, "warn").mockImplementation(() => {});
    const user = await registerUser();
    const answer = await call(
      "/v1/auth/refresh",
      {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ refreshToken: user.tokens.refreshToken }),
      },
      { ...env, RATE_LIMITER: broken },
    );
    expect(answer.status).toBe(200);
  });
});

describe("GET /v1/admin/rate-limits/top", () => {
  it("lists the keys refused most in the last hour and day, from the objects' aggregated counts", async () => {
    const noisy = await userOnPlan(1);
    const quiet = await userOnPlan(1);
    await burst(6, () => me(as(noisy)));
    await burst(3, () => me(as(quiet)));
    for (const user of [noisy, quiet]) {
      expect(await runDurableObjectAlarm(env.RATE_LIMITER.getByName(`usr:${user.user.id}`))).toBe(true);
    }
    admin ??= await platformAdmin();
    const top = await api<{ hour: { items: { key: string; kind: string; refused: number }[] } }>(
      "/v1/admin/rate-limits/top?limit=100",
      { headers: as(admin) },
    );
    expect(top.status).toBe(200);
    const mine = top.body.hour.items.filter((item) => [noisy, quiet].some((u) => item.key === `usr:${u.user.id}`));
    expect(mine).toEqual([
      { key: `usr:${noisy.user.id}`, kind: "usr", refused: 5, lastBucketAt: expect.any(String) },
      { key: `usr:${quiet.user.id}`, kind: "usr", refused: 2, lastBucketAt: expect.any(String) },
    ]);
    testClock.advance(2 * 3_600_000);
    const later = await api<{ hour: { items: { key: string }[] }; day: { items: { key: string }[] } }>(
      "/v1/admin/rate-limits/top",
      { headers: as(await platformAdmin()) },
    );
    expect(later.body.hour.items.map((item) => item.key)).not.toContain(`usr:${noisy.user.id}`);
    expect(later.body.day.items.map((item) => item.key)).toContain(`usr:${noisy.user.id}`);
  });

  it("is for platform admins only, and validates its limit", async () => {
    const user = await registerUser();
    expectProblem(await api("/v1/admin/rate-limits/top", { headers: as(user) }), 403, "forbidden");
    admin ??= await platformAdmin();
    expectProblem(await api("/v1/admin/rate-limits/top?limit=0", { headers: as(admin) }), 400, "validation_failed");
  });
});

describe("the limiter object's storage", () => {
  it("is deleted by the alarm once idle past its longest window", async () => {
    const user = await userOnPlan(1);
    await me(as(user));
    const stub = env.RATE_LIMITER.getByName(`usr:${user.user.id}`);
    const rows = () =>
      runInDurableObject(
        stub,
        (_, state) =>
          state.storage.sql.exec("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'windows'").toArray()
            .length,
      );
    testClock.advance(30_000);
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(await rows()).toBe(1);
    testClock.advance(30_001);
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(await rows()).toBe(0);
    expect(await runInDurableObject(stub, (_, state) => state.storage.getAlarm())).toBeNull();
    expect((await me(as(user))).status).toBe(200);
  });
});
