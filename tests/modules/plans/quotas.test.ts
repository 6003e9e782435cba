import { env } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import type { HoldAnswer } from "../../../src/modules/billing/wallet/protocol";
import { quotaTermsOf } from "../../../src/modules/plans/api";
import { periodOf } from "../../../src/modules/plans/quotas";
import { clock, testClock } from "../../../src/platform/clock";
import type { AppError } from "../../../src/platform/errors";
import { api, expectProblem } from "../../helpers/client";
import { as, registerUser } from "../../helpers/identity";
import { createOrg, join, onPlan, verified } from "../../helpers/orgs";
import { expectMatrix, MEMBERS_WITHOUT_KEYS, roleMatrix } from "../../helpers/roles";
import { counterOf, countUsage, walletStub } from "../../helpers/wallet";

afterEach(() => testClock.reset());

/** The free plan allows 50 000 translated characters a month. */
const FREE_CHARACTERS = 50_000;
const METRIC = "translated_characters";

/**
 * Takes `amount` translated characters in the account's wallet as a counter-only hold (what
 * translation does for a request served from the cache), within the plan's terms now.
 */
async function take(accountId: string, amount: number, reference = `test:${crypto.randomUUID()}`): Promise<HoldAnswer> {
  const terms = await quotaTermsOf(env, accountId, METRIC);
  return walletStub(accountId).hold({
    accountId,
    reference,
    amount: 0,
    expiresAt: clock.now() + 60_000,
    counter: { metric: METRIC, amount, ...terms },
  });
}

/** Counts characters as translation does: `withHold`'s `count`, taken in the same wallet call as the hold. */
const count = (accountId: string, amount: number) => countUsage(accountId, amount, METRIC);

/** What the wallet counted of translated characters in the period starting at `periodStart` (this month by default). */
const used = (accountId: string, periodStart?: number) => counterOf(accountId, METRIC, periodStart);

describe("the translated characters counter, in the account's wallet", () => {
  it("never passes the limit under 100 concurrent takes, and uncount restores what a take counted, once", async () => {
    const { user } = await registerUser();
    const amount = 1_000;
    expect((await quotaTermsOf(env, user.id, METRIC)).limit).toBe(FREE_CHARACTERS);
    const references = Array.from({ length: 100 }, (_, i) => `test:concurrent:${i}`);
    const answers = await Promise.all(references.map((reference) => take(user.id, amount, reference)));
    const granted = references.filter((_, i) => answers[i]?.ok);
    const refused = answers.filter((answer) => !answer.ok);
    expect(granted).toHaveLength(FREE_CHARACTERS / amount);
    for (const answer of refused) {
      expect(answer).toMatchObject({ ok: false, code: "quota_exceeded", quota: { limit: FREE_CHARACTERS } });
    }
    expect(await used(user.id)).toBe(FREE_CHARACTERS);

    const [first, second, third] = granted as [string, string, string];
    for (const reference of [first, second, third]) await walletStub(user.id).uncount(user.id, reference);
    await walletStub(user.id).uncount(user.id, first); // given back once only
    expect(await used(user.id)).toBe(FREE_CHARACTERS - 3 * amount);
    await expect(take(user.id, 3 * amount)).resolves.toEqual({ ok: true, hold: null });
    expect(await used(user.id)).toBe(FREE_CHARACTERS);
    await expect(take(user.id, 1)).resolves.toMatchObject({ ok: false, code: "quota_exceeded" });
  });

  it("counts a retried reference once", async () => {
    const { user } = await registerUser();
    await take(user.id, 400, "test:retried");
    await expect(take(user.id, 400, "test:retried")).resolves.toEqual({ ok: true, hold: null });
    expect(await used(user.id)).toBe(400);
  });

  it("refuses over the remainder with the reset time, and resets with the month", async () => {
    const { user } = await registerUser();
    testClock.freeze(Date.UTC(2027, 0, 31, 23, 0, 0));
    await count(user.id, FREE_CHARACTERS - 10);
    let refusal: AppError | undefined;
    try {
      await count(user.id, 11);
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
    expect(await used(user.id, Date.UTC(2027, 0, 1))).toBe(FREE_CHARACTERS - 10);

    testClock.freeze(Date.UTC(2027, 1, 1, 0, 0, 1));
    expect((await quotaTermsOf(env, user.id, METRIC)).periodStart).toBe(Date.UTC(2027, 1, 1));
    await expect(count(user.id, 11)).resolves.toMatchObject({ result: 11 });
    expect(await used(user.id, Date.UTC(2027, 1, 1))).toBe(11);
    expect(await used(user.id, Date.UTC(2027, 0, 1))).toBe(FREE_CHARACTERS - 10);
  });

  it("follows the plan: an upgrade raises the limit", async () => {
    const { user } = await registerUser();
    await count(user.id, FREE_CHARACTERS);
    await expect(count(user.id, 1_000)).rejects.toMatchObject({ code: "quota_exceeded" });
    await env.DB.prepare(
      "INSERT INTO plan_overrides (account_id, plan_id, set_by, created_at) VALUES (?, 'premium', 'usr_x', 0)",
    )
      .bind(user.id)
      .run();
    testClock.advance(30_001);
    expect((await quotaTermsOf(env, user.id, METRIC)).limit).toBe(1_000_000);
    await expect(count(user.id, 1_000)).resolves.toMatchObject({ result: 1_000 });
    expect(await used(user.id)).toBe(FREE_CHARACTERS + 1_000);
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
    await count(user.user.id, 1234);
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
    await count(org.id, 777);
    await count(owner.user.id, 5);

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
