import { env } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import { consume, periodOf, refund } from "../../../src/modules/plans/quotas";
import { testClock } from "../../../src/platform/clock";
import type { AppError } from "../../../src/platform/errors";
import { api, expectProblem } from "../../helpers/client";
import { as, registerUser } from "../../helpers/identity";
import { createOrg, join, onPlan, verified } from "../../helpers/orgs";
import { expectMatrix, MEMBERS_WITHOUT_KEYS, roleMatrix } from "../../helpers/roles";

afterEach(() => testClock.reset());

/** The free plan allows 50 000 translated characters a month. */
const FREE_CHARACTERS = 50_000;

describe("consume and refund", () => {
  it("100 concurrent consumes never pass the limit, and refunds restore it", async () => {
    const { user } = await registerUser();
    const amount = 1_000;
    const results = await Promise.allSettled(
      Array.from({ length: 100 }, () => consume(env, user.id, "translated_characters", amount)),
    );
    const granted = results.filter((result) => result.status === "fulfilled");
    const refused = results.filter((result) => result.status === "rejected");
    expect(granted).toHaveLength(FREE_CHARACTERS / amount);
    for (const result of refused) expect((result.reason as AppError).code).toBe("quota_exceeded");
    const row = await env.DB.prepare("SELECT used FROM quota_usage WHERE account_id = ?")
      .bind(user.id)
      .first<{ used: number }>();
    expect(row?.used).toBe(FREE_CHARACTERS);

    const first = (granted[0] as PromiseFulfilledResult<Awaited<ReturnType<typeof consume>>>).value;
    await refund(env, user.id, first, 3 * amount);
    await expect(consume(env, user.id, "translated_characters", 3 * amount)).resolves.toMatchObject({
      used: FREE_CHARACTERS,
    });
    await expect(consume(env, user.id, "translated_characters", 1)).rejects.toMatchObject({ code: "quota_exceeded" });
  });

  it("refuses over the remainder with the reset time, and resets with the month", async () => {
    const { user } = await registerUser();
    testClock.freeze(Date.UTC(2027, 0, 31, 23, 0, 0));
    await consume(env, user.id, "translated_characters", FREE_CHARACTERS - 10);
    let refusal: AppError | undefined;
    try {
      await consume(env, user.id, "translated_characters", 11);
    } catch (error) {
      refusal = error as AppError;
    }
    expect(refusal?.code).toBe("quota_exceeded");
    expect(refusal?.extensions).toMatchObject({
      limit: FREE_CHARACTERS,
      used: FREE_CHARACTERS - 10,
      resetsAt: "2027-02-01T00:00:00.000Z",
    });
    expect(refusal?.headers["Retry-After"]).toBe("3600");
    testClock.freeze(Date.UTC(2027, 1, 1, 0, 0, 1));
    await expect(consume(env, user.id, "translated_characters", 11)).resolves.toMatchObject({ used: 11 });
  });

  it("follows the plan: an upgrade raises the limit", async () => {
    const { user } = await registerUser();
    await consume(env, user.id, "translated_characters", FREE_CHARACTERS);
    await env.DB.prepare(
      "INSERT INTO plan_overrides (account_id, plan_id, set_by, created_at) VALUES (?, 'premium', 'usr_x', 0)",
    )
      .bind(user.id)
      .run();
    testClock.advance(30_001);
    await expect(consume(env, user.id, "translated_characters", 1_000)).resolves.toMatchObject({ limit: 1_000_000 });
  });

  it("counts storage as a level that never resets", () => {
    expect(periodOf("storage_bytes", Date.UTC(2027, 5, 1))).toEqual({ start: 0, resetsAt: null });
    expect(periodOf("translated_characters", Date.UTC(2027, 5, 15, 12))).toEqual({
      start: Date.UTC(2027, 5, 1),
      resetsAt: Date.UTC(2027, 6, 1),
    });
  });
});

describe("GET /v1/me/limits and /v1/orgs/:orgId/limits", () => {
  it("answer the plan, its limits and the usage with reset times", async () => {
    const user = await registerUser();
    await consume(env, user.user.id, "translated_characters", 1234);
    const response = await api<{
      plan: { id: string };
      quotas: { metric: string; used: number; limit: number; resetsAt: string | null }[];
    }>("/v1/me/limits", { headers: as(user) });
    expect(response.status).toBe(200);
    expect(response.body.plan.id).toBe("free");
    expect(response.body.quotas).toEqual([
      {
        metric: "translated_characters",
        used: 1234,
        limit: FREE_CHARACTERS,
        resetsAt: expect.stringMatching(/-01T00:00:00.000Z$/),
      },
      { metric: "storage_bytes", used: 0, limit: 104857600, resetsAt: null },
    ]);
  });

  it("shows an org's limits to its members only", async () => {
    const cast = await roleMatrix();
    const { org, owner } = cast;
    const stranger = await registerUser();
    const limits = await expectMatrix<{ accountId: string }>(
      cast,
      { path: `/v1/orgs/${org.id}/limits`, org: false },
      MEMBERS_WITHOUT_KEYS,
    );
    expect(limits.owner.body.accountId).toBe(org.id);
    expect(limits.member.body.accountId).toBe(org.id);
    expectProblem(await api(`/v1/orgs/${org.id}/limits`, { headers: as(stranger) }), 404, "not_found");
    expectProblem(await api("/v1/orgs/nope/limits", { headers: as(owner) }), 400, "validation_failed");
  });

  it("answer the org of X-Stratus-Org to any member, like every account-scoped route", async () => {
    const owner = await registerUser();
    const member = await verified();
    const stranger = await registerUser();
    const org = await createOrg(owner, "Header Co");
    await join(org, owner, member, "member");
    await onPlan(org.id, "pro");
    await consume(env, org.id, "translated_characters", 777);
    await consume(env, owner.user.id, "translated_characters", 5);

    type Limits = { accountId: string; plan: { id: string }; quotas: { metric: string; used: number }[] };
    const forOrg = { "X-Stratus-Org": org.id };
    const viaHeader = await api<Limits>("/v1/me/limits", { headers: { ...as(member), ...forOrg } });
    expect(viaHeader.status).toBe(200);
    expect(viaHeader.body.accountId).toBe(org.id);
    expect(viaHeader.body.plan.id).toBe("pro");
    expect(viaHeader.body.quotas[0]).toMatchObject({ metric: "translated_characters", used: 777 });
    const viaAlias = await api<Limits>(`/v1/orgs/${org.id}/limits`, { headers: as(member) });
    expect(viaAlias.body).toEqual(viaHeader.body);

    const own = await api<Limits>("/v1/me/limits", { headers: as(owner) });
    expect(own.body.accountId).toBe(owner.user.id);
    expect(own.body.quotas[0]).toMatchObject({ used: 5 });
    expectProblem(await api("/v1/me/limits", { headers: { ...as(stranger), ...forOrg } }), 404, "not_found");
  });
});
