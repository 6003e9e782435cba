import { env } from "cloudflare:test";
import fc from "fast-check";
import { afterEach, describe, expect, it } from "vitest";
import { configOf } from "../../../src/env";
import {
  type Budget,
  grant,
  type Hold,
  release,
  releaseExpiredHolds,
  reserve,
  settle,
} from "../../../src/modules/billing/credits/ledger";
import { clock, testClock } from "../../../src/platform/clock";
import { AppError } from "../../../src/platform/errors";
import { api, expectProblem } from "../../helpers/client";
import { as, platformAdmin, type Registered, registerUser } from "../../helpers/identity";
import { expectMatrix, MEMBERS_WITHOUT_KEYS, roleMatrix } from "../../helpers/roles";

afterEach(() => testClock.reset());

const CREDIT = 1_000;
const account = () => `usr_${crypto.randomUUID().replaceAll("-", "").slice(0, 26).toUpperCase()}`;
let references = 0;
const ref = (what = "test") => `${what}:${++references}:${crypto.randomUUID()}`;

/** A request's hold: it lapses CREDIT_HOLD_TTL_SECONDS (15 minutes by default) from now. */
const requestHold = (options: { budget?: Budget } = {}) => ({
  expiresAt: clock.now() + configOf(env).CREDIT_HOLD_TTL_SECONDS * 1000,
  ...options,
});

const give = (accountId: string, bucket: "included" | "purchased", amount: number) =>
  grant(env, { accountId, bucket, amount, reason: "test", reference: ref("grant") });

async function state(accountId: string) {
  const balances = await env.DB.prepare("SELECT bucket, balance FROM credit_balances WHERE account_id = ?")
    .bind(accountId)
    .all<{ bucket: string; balance: number }>();
  const sums = await env.DB.prepare(
    "SELECT bucket, sum(amount) AS total, count(*) AS entries FROM credit_ledger WHERE account_id = ? GROUP BY bucket",
  )
    .bind(accountId)
    .all<{ bucket: string; total: number; entries: number }>();
  const balance = (bucket: string) => balances.results.find((row) => row.bucket === bucket)?.balance ?? 0;
  const sum = (bucket: string) => sums.results.find((row) => row.bucket === bucket)?.total ?? 0;
  return {
    included: balance("included"),
    purchased: balance("purchased"),
    ledgerIncluded: sum("included"),
    ledgerPurchased: sum("purchased"),
  };
}

async function expectInvariants(accountId: string) {
  const now = await state(accountId);
  expect(now.included).toBeGreaterThanOrEqual(0);
  expect(now.purchased).toBeGreaterThanOrEqual(0);
  expect(now.included).toBe(now.ledgerIncluded);
  expect(now.purchased).toBe(now.ledgerPurchased);
  return now;
}

const failsWith = async (work: Promise<unknown>, code: string) => {
  const error = await work.then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  expect(error).toBeInstanceOf(AppError);
  expect((error as AppError).code).toBe(code);
};

describe("the credit ledger", () => {
  it("applies a grant once per reference", async () => {
    const id = account();
    const reference = ref();
    expect(
      await grant(env, { accountId: id, bucket: "purchased", amount: 5 * CREDIT, reason: "pack", reference }),
    ).toBe(true);
    expect(
      await grant(env, { accountId: id, bucket: "purchased", amount: 5 * CREDIT, reason: "pack", reference }),
    ).toBe(false);
    expect(await expectInvariants(id)).toMatchObject({ purchased: 5 * CREDIT, included: 0 });
    await failsWith(give(id, "purchased", -6 * CREDIT), "insufficient_credits");
    expect((await expectInvariants(id)).purchased).toBe(5 * CREDIT);
  });

  it("reserves from included first, settles the actual cost and returns the rest, purchased first", async () => {
    const id = account();
    await give(id, "included", 3 * CREDIT);
    await give(id, "purchased", 10 * CREDIT);
    const hold = await reserve(env, id, 5 * CREDIT, ref("ai"), requestHold());
    expect(hold).toMatchObject({ amount: 5 * CREDIT, fromIncluded: 3 * CREDIT, fromPurchased: 2 * CREDIT });
    expect(await expectInvariants(id)).toMatchObject({ included: 0, purchased: 8 * CREDIT });
    const closure = await settle(env, hold, 1_500);
    expect(closure).toMatchObject({
      charged: 1_500,
      returnedPurchased: 2 * CREDIT,
      returnedIncluded: 1_500,
      shortfall: 0,
    });
    expect(await expectInvariants(id)).toMatchObject({ included: 1_500, purchased: 10 * CREDIT });
    await failsWith(settle(env, hold, 0), "conflict");
    await failsWith(release(env, hold), "conflict");
  });

  it("charges at most the hold and records the excess as a shortfall", async () => {
    const id = account();
    await give(id, "purchased", 2 * CREDIT);
    const hold = await reserve(env, id, CREDIT, ref("ai"), requestHold());
    expect(await settle(env, hold, 1_700)).toMatchObject({ charged: CREDIT, shortfall: 700, returnedPurchased: 0 });
    expect((await expectInvariants(id)).purchased).toBe(CREDIT);
  });

  it("refuses a reservation beyond both buckets with 402 and writes nothing", async () => {
    const id = account();
    await give(id, "included", CREDIT);
    await give(id, "purchased", CREDIT);
    await failsWith(reserve(env, id, 2 * CREDIT + 1, ref("ai"), requestHold()), "insufficient_credits");
    expect(await expectInvariants(id)).toMatchObject({ included: CREDIT, purchased: CREDIT });
    const holds = await env.DB.prepare("SELECT count(*) AS n FROM credit_holds WHERE account_id = ?").bind(id).first();
    expect(holds?.n).toBe(0);
  });

  it("answers a repeated reservation with its hold, and a different amount under the same reference with 409", async () => {
    const id = account();
    await give(id, "purchased", 10 * CREDIT);
    const reference = ref("ai");
    const first = await reserve(env, id, CREDIT, reference, requestHold());
    expect((await reserve(env, id, CREDIT, reference, requestHold())).id).toBe(first.id);
    await failsWith(reserve(env, id, 2 * CREDIT, reference, requestHold()), "conflict");
    expect((await expectInvariants(id)).purchased).toBe(9 * CREDIT);
  });

  it("scopes references per account, and refuses a retry once its hold has ended", async () => {
    const [first, second] = [account(), account()];
    await give(first, "purchased", 5 * CREDIT);
    await give(second, "purchased", 5 * CREDIT);
    const reference = ref("ai");
    const mine = await reserve(env, first, CREDIT, reference, requestHold());
    const theirs = await reserve(env, second, CREDIT, reference, requestHold());
    expect(theirs.id).not.toBe(mine.id);
    await settle(env, mine, CREDIT);
    await failsWith(reserve(env, first, CREDIT, reference, requestHold()), "conflict");
    // A forged copy of a hold cannot send its returns to another account, and the batch it
    // came with is not written either.
    const alongside = env.DB.prepare(
      "INSERT INTO credit_budget_usage (account_id, budget_key, period_start, used, limit_value) VALUES (?, 'forged', 0, 0, 1)",
    ).bind(first);
    await failsWith(release(env, { ...theirs, accountId: first }, [alongside]), "not_found");
    expect(
      await env.DB.prepare("SELECT count(*) AS n FROM credit_budget_usage WHERE account_id = ?").bind(first).first("n"),
    ).toBe(0);
    expect(await expectInvariants(first)).toMatchObject({ purchased: 4 * CREDIT });
    expect(await expectInvariants(second)).toMatchObject({ purchased: 4 * CREDIT });
    await release(env, theirs);
    expect(await expectInvariants(second)).toMatchObject({ purchased: 5 * CREDIT });
    // Once it is closed too: the other account's closure is never read as this one's.
    await failsWith(release(env, { ...theirs, accountId: first }, [alongside]), "not_found");
    expect(await expectInvariants(first)).toMatchObject({ purchased: 4 * CREDIT });
  });

  it("lets exactly 50 of 100 concurrent one-credit reservations through a balance of 50", async () => {
    const id = account();
    await give(id, "included", 20 * CREDIT);
    await give(id, "purchased", 30 * CREDIT);
    const outcomes = await Promise.allSettled(
      Array.from({ length: 100 }, () => reserve(env, id, CREDIT, ref("ai"), requestHold())),
    );
    expect(outcomes.filter((outcome) => outcome.status === "fulfilled")).toHaveLength(50);
    for (const outcome of outcomes) {
      if (outcome.status === "rejected") expect((outcome.reason as AppError).code).toBe("insufficient_credits");
    }
    expect(await expectInvariants(id)).toMatchObject({ included: 0, purchased: 0 });
  });

  it("releases holds left open past their expiry, once", async () => {
    const id = account();
    await give(id, "purchased", 4 * CREDIT);
    const stale = await reserve(env, id, 3 * CREDIT, ref("ai"), requestHold());
    testClock.advance(15 * 60_000 + 1);
    const fresh = await reserve(env, id, CREDIT, ref("ai"), requestHold());
    expect(await releaseExpiredHolds(env, clock.now())).toBeGreaterThanOrEqual(1);
    expect(await releaseExpiredHolds(env, clock.now())).toBe(0);
    expect((await expectInvariants(id)).purchased).toBe(3 * CREDIT);
    expect(await settle(env, fresh, CREDIT)).toMatchObject({ charged: CREDIT });
    // The stale hold's work finished after all: it is charged late, from what is left, once.
    expect((await settle(env, stale, 3_500)).late).toEqual({ charged: 3_000, shortfall: 500 });
    expect((await settle(env, stale, 3_500)).late).toEqual({ charged: 3_000, shortfall: 500 });
    expect(await expectInvariants(id)).toMatchObject({ included: 0, purchased: 0 });
    await failsWith(release(env, stale), "conflict");
  });

  it("holds a budget per key and period: refusals are 402 budget_exceeded, returns give back", async () => {
    const id = account();
    await give(id, "purchased", 100 * CREDIT);
    const budget = { key: "key:ci", limit: 5 * CREDIT, period: "day" as const };
    const outcomes = await Promise.allSettled(
      Array.from({ length: 12 }, () => reserve(env, id, CREDIT, ref("ai"), requestHold({ budget }))),
    );
    const held = outcomes.flatMap((outcome) => (outcome.status === "fulfilled" ? [outcome.value] : []));
    expect(held).toHaveLength(5);
    for (const outcome of outcomes) {
      if (outcome.status === "rejected") {
        expect((outcome.reason as AppError).code).toBe("budget_exceeded");
        expect((outcome.reason as AppError).message).toBe('This request would pass the daily budget of "key:ci".');
      }
    }
    // Another key, or no budget, is not held back.
    await reserve(env, id, CREDIT, ref("ai"), requestHold({ budget: { ...budget, key: "key:other" } }));
    await reserve(env, id, CREDIT, ref("ai"), requestHold());
    await settle(env, held[0] as Hold, 400);
    await release(env, held[1] as Hold);
    // 400 + 3 000 used of 5 000: one more credit fits, two do not.
    await failsWith(reserve(env, id, 2 * CREDIT, ref("ai"), requestHold({ budget })), "budget_exceeded");
    await reserve(env, id, CREDIT, ref("ai"), requestHold({ budget }));
    testClock.advance(24 * 3_600_000);
    await reserve(env, id, 5 * CREDIT, ref("ai"), requestHold({ budget }));
    await expectInvariants(id);
  });

  it("keeps every invariant over random interleavings of reserve, settle, release and grant", async () => {
    const operation = fc.oneof(
      fc.record({ op: fc.constant("reserve" as const), amount: fc.integer({ min: 1, max: 4_000 }) }),
      fc.record({ op: fc.constant("settle" as const), actual: fc.integer({ min: 0, max: 5_000 }) }),
      fc.record({ op: fc.constant("release" as const) }),
      fc.record({
        op: fc.constant("grant" as const),
        amount: fc.integer({ min: 1, max: 3_000 }),
        bucket: fc.constantFrom("included" as const, "purchased" as const),
      }),
    );
    let closed = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.array(operation, { minLength: 1, maxLength: 4 }), { maxLength: 8 }),
        async (rounds) => {
          const id = account();
          await give(id, "purchased", 5_000);
          const open: Hold[] = [];
          let granted = 5_000;
          for (const round of rounds) {
            // Each round's operations run concurrently.
            await Promise.allSettled(
              round.map(async (step) => {
                if (step.op === "reserve") open.push(await reserve(env, id, step.amount, ref("p"), requestHold()));
                else if (step.op === "grant") {
                  await give(id, step.bucket, step.amount);
                  granted += step.amount;
                } else {
                  const hold = open.shift();
                  if (!hold) return;
                  if (step.op === "settle") await settle(env, hold, step.actual);
                  else await release(env, hold);
                  closed += 1;
                }
              }),
            );
            const now = await expectInvariants(id);
            const closures = await env.DB.prepare(
              `SELECT coalesce(sum(c.charged), 0) AS charged FROM credit_hold_closures c
             JOIN credit_holds h ON h.id = c.hold_id WHERE h.account_id = ?`,
            )
              .bind(id)
              .first<{ charged: number }>();
            const held = await env.DB.prepare(
              `SELECT coalesce(sum(h.amount), 0) AS held FROM credit_holds h
             LEFT JOIN credit_hold_closures c ON c.hold_id = h.id WHERE h.account_id = ? AND c.hold_id IS NULL`,
            )
              .bind(id)
              .first<{ held: number }>();
            // Nothing is created or lost: what was granted is either available, held or charged.
            expect(now.included + now.purchased + (held?.held ?? 0) + (closures?.charged ?? 0)).toBe(granted);
          }
        },
      ),
      { numRuns: 25 },
    );
    // The runs did real work, not only refusals.
    expect(closed).toBeGreaterThan(10);
  });

  it("is append-only", async () => {
    const id = account();
    await give(id, "purchased", CREDIT);
    await expect(
      env.DB.prepare("UPDATE credit_ledger SET amount = 1 WHERE account_id = ?").bind(id).run(),
    ).rejects.toThrow(/append-only/);
    await expect(env.DB.prepare("DELETE FROM credit_ledger WHERE account_id = ?").bind(id).run()).rejects.toThrow(
      /append-only/,
    );
  });
});

describe("GET /v1/credits and /v1/credits/ledger", () => {
  it("show the caller's balances, holds and ledger, newest first, by page", async () => {
    const user = await registerUser();
    await give(user.user.id, "included", 2 * CREDIT);
    await give(user.user.id, "purchased", 3 * CREDIT);
    const hold = await reserve(env, user.user.id, 2_500, ref("ai"), requestHold());
    const credits = await api("/v1/credits", { headers: as(user) });
    expect(credits.status).toBe(200);
    expect(credits.body).toMatchObject({
      accountId: user.user.id,
      balances: { included: 0, purchased: 2_500 },
      available: 2_500,
      held: 2_500,
      holds: [{ id: hold.id, amount: 2_500 }],
    });
    const first = await api<{ items: { reason: string; balanceAfter: number }[]; nextCursor: string }>(
      "/v1/credits/ledger?limit=3",
      { headers: as(user) },
    );
    expect(first.body.items).toHaveLength(3);
    const second = await api<{ items: unknown[]; nextCursor: string | null }>(
      `/v1/credits/ledger?limit=3&cursor=${first.body.nextCursor}`,
      { headers: as(user) },
    );
    expect(second.body.items).toHaveLength(1);
    expect(second.body.nextCursor).toBeNull();
    expectProblem(await api("/v1/credits/ledger?cursor=nonsense", { headers: as(user) }), 400, "validation_failed");
  });

  it("show an org's credits to its members, and 404 to anyone else", async () => {
    const cast = await roleMatrix();
    const { org } = cast;
    const stranger = await registerUser();
    await give(org.id, "purchased", 7 * CREDIT);
    const inOrg = (user: Registered) => api("/v1/credits", { headers: { ...as(user), "x-stratus-org": org.id } });
    const shown = await expectMatrix(cast, { path: "/v1/credits" }, MEMBERS_WITHOUT_KEYS);
    expect(shown.member.body).toMatchObject({ accountId: org.id, available: 7 * CREDIT });
    expect(shown.owner.body).toEqual(shown.member.body);
    expectProblem(await inOrg(stranger), 404, "not_found");
    expect((await api("/v1/credits", { headers: as(stranger) })).body).toMatchObject({ available: 0 });
  });
});

describe("POST /v1/admin/credits/adjust", () => {
  const adjust = (by: Registered, json: unknown) => api("/v1/admin/credits/adjust", { json, headers: as(by) });

  it("adds or removes credits for a platform admin, audited, and never below zero", async () => {
    const admin = await platformAdmin();
    const user = await registerUser();
    const added = await adjust(admin, { accountId: user.user.id, amount: 4 * CREDIT, reason: "goodwill" });
    expect(added.status).toBe(201);
    expect(added.body).toMatchObject({
      entry: { bucket: "purchased", amount: 4 * CREDIT, reason: "adjust", balanceAfter: 4 * CREDIT },
      credits: { available: 4 * CREDIT },
    });
    expectProblem(
      await adjust(admin, { accountId: user.user.id, amount: -5 * CREDIT, reason: "oops" }),
      409,
      "conflict",
    );
    expect((await expectInvariants(user.user.id)).purchased).toBe(4 * CREDIT);
    const audit = await env.DB.prepare(
      "SELECT details FROM audit_log WHERE action = 'admin.credits_adjusted' AND target_id = ?",
    )
      .bind(user.user.id)
      .all<{ details: string }>();
    expect(audit.results.map((row) => JSON.parse(row.details).reason)).toEqual(["goodwill"]);
  });

  it("is for platform admins only, validates its body and 404s an unknown account", async () => {
    const admin = await platformAdmin();
    const user = await registerUser();
    expectProblem(await adjust(user, { accountId: user.user.id, amount: CREDIT, reason: "me" }), 403, "forbidden");
    for (const json of [
      { accountId: user.user.id, amount: 0, reason: "zero" },
      { accountId: user.user.id, amount: 1.5, reason: "fraction" },
      { accountId: "nobody", amount: 1, reason: "bad id" },
      { accountId: user.user.id, amount: 1, reason: "" },
      { accountId: user.user.id, amount: 1, reason: "x", bucket: "gold" },
      { accountId: user.user.id, amount: 1, reason: "x", extra: true },
    ]) {
      expectProblem(await adjust(admin, json), 400, "validation_failed");
    }
    expectProblem(await adjust(admin, { accountId: account(), amount: CREDIT, reason: "ghost" }), 404, "not_found");
    expect(await expectInvariants(user.user.id)).toMatchObject({ included: 0, purchased: 0 });
  });
});
