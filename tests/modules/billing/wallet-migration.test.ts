import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { grant } from "../../../src/modules/billing/credits/ledger";
import { clock } from "../../../src/platform/clock";
import { countOf } from "../../helpers/db";
import { registerUser } from "../../helpers/identity";
import { drainWallet, walletBalances, walletStub } from "../../helpers/wallet";

/**
 * An account's pre-wallet credits (in D1) move into its wallet on the wallet's first touch:
 * balances, open holds, budgets, clawbacks, included periods and counters; from then on D1
 * refuses every write of the account to the old tables, and grants applied before are not
 * applied again.
 */

const monthStart = () => {
  const date = new Date(clock.now());
  return Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), 1);
};

/** The D1 state an account had before wallets: what the old ledger code wrote. */
async function legacyAccount() {
  const { user } = await registerUser();
  const id = user.id;
  const now = clock.now();
  const month = monthStart();
  await env.DB.batch([
    env.DB.prepare("INSERT INTO credit_balances VALUES (?, 'included', 3000), (?, 'purchased', 10000)").bind(id, id),
    env.DB.prepare(
      `INSERT INTO credit_ledger (id, account_id, bucket, amount, reason, reference, balance_after, created_at) VALUES
         ('led_legacy1' || ?1, ?1, 'purchased', 12000, 'credit_pack', 'pack:cs_legacy_' || ?1, 12000, ?2),
         ('led_legacy2' || ?1, ?1, 'purchased', -2000, 'hold', 'hold:hld_open_' || ?1 || ':purchased', 10000, ?2),
         ('led_legacy3' || ?1, ?1, 'included', 3000, 'included', ?3, 3000, ?2)`,
    ).bind(id, now, `plan:${id}:${month}`),
    env.DB.prepare(
      `INSERT INTO credit_holds (id, account_id, reference, amount, from_included, from_purchased, created_at, expires_at,
         budget_key, budget_period_start) VALUES ('hld_open_' || ?1, ?1, 'ai:legacy-open', 2000, 0, 2000, ?2, ?3, 'api_key:k', ?4)`,
    ).bind(id, now, now + 600_000, month),
    env.DB.prepare(
      "INSERT INTO credit_budget_usage (account_id, budget_key, period_start, used, limit_value) VALUES (?, 'api_key:k', ?, 2000, 3000)",
    ).bind(id, month),
    env.DB.prepare(
      `INSERT INTO included_credit_grants (reference, account_id, plan_id, period_start, period_end, millicredits, created_at)
       VALUES (?4, ?1, 'free', ?2, ?3, 3000, ?2)`,
    ).bind(id, month, month + 40 * 86_400_000, `plan:${id}:${month}`),
    env.DB.prepare(
      "INSERT INTO quota_usage (account_id, metric, period_start, used, limit_value) VALUES (?, 'translated_characters', ?, 500, 10000)",
    ).bind(id, month),
    env.DB.prepare(
      "INSERT INTO credit_clawbacks VALUES ('clawback:cs_legacy_' || ?1 || ':0', ?1, 'cs_legacy_' || ?1, 1000, 1000, 0, ?2)",
    ).bind(id, now),
  ]);
  return id;
}

const walletLedger = (id: string) =>
  runInDurableObject(walletStub(id), (_instance, state) =>
    state.storage.sql
      .exec<{ bucket: string; amount: number; reason: string; reference: string }>(
        "SELECT bucket, amount, reason, reference FROM ledger ORDER BY seq",
      )
      .toArray(),
  );

describe("moving an account's credits into its wallet", () => {
  it("takes the balances, open holds, budgets, periods and counters on the first touch, once", async () => {
    const id = await legacyAccount();
    const wallet = await walletBalances(id);
    // The open hold's 2000 were out of the D1 balance; in the wallet they are in it, and held.
    expect(wallet).toMatchObject({ balances: { included: 3000, purchased: 12000 }, held: 2000, available: 13000 });
    expect(wallet.holds).toMatchObject([{ reference: "ai:legacy-open", amount: 2000 }]);
    expect(await walletLedger(id)).toEqual([
      { bucket: "included", amount: 3000, reason: "migrated", reference: `migrate:${id}:included` },
      { bucket: "purchased", amount: 12000, reason: "migrated", reference: `migrate:${id}:purchased` },
    ]);
    expect(await countOf("SELECT count(*) AS n FROM wallet_migrations WHERE account_id = ?", id)).toBe(1);
    const status = await walletStub(id).status(id, {
      budgets: [{ key: "api_key:k", limit: 3000, period: "month" }],
      counters: [{ metric: "translated_characters", periodStart: monthStart() }],
    });
    expect(status).toEqual({
      budgets: [{ key: "api_key:k", left: 1000 }],
      counters: [{ metric: "translated_characters", periodStart: monthStart(), used: 500 }],
    });
    // A second touch changes nothing.
    expect(await walletBalances(id)).toEqual(wallet);
  });

  it("settles a hold opened before the move through the wallet, by its reference", async () => {
    const id = await legacyAccount();
    await walletBalances(id);
    const settled = await walletStub(id).settle({
      accountId: id,
      reference: "ai:legacy-open",
      actual: 1500,
      records: [],
      keepCount: true,
    });
    expect(settled).toEqual({ ok: true, charged: 1500, shortfall: 0, late: false });
    expect(await walletBalances(id)).toMatchObject({ balances: { purchased: 10500 }, held: 0, available: 13500 });
    // The budget got back what the hold did not use.
    const status = await walletStub(id).status(id, { budgets: [{ key: "api_key:k", limit: 3000, period: "month" }] });
    expect(status.budgets).toEqual([{ key: "api_key:k", left: 1500 }]);
  });

  it("makes D1 refuse every write of the old paths for the account, and keeps its included period", async () => {
    const id = await legacyAccount();
    await walletBalances(id);
    const refused = [
      env.DB.prepare("UPDATE credit_balances SET balance = balance + 1 WHERE account_id = ?").bind(id),
      env.DB.prepare("INSERT INTO credit_balances VALUES (?, 'purchased', 5) ON CONFLICT DO NOTHING").bind(`${id}`),
      env.DB.prepare(
        `INSERT INTO credit_ledger (id, account_id, bucket, amount, reason, reference, balance_after, created_at)
         VALUES ('led_stale', ?, 'purchased', 5, 'grant', 'stale:1', 5, 0)`,
      ).bind(id),
      env.DB.prepare(
        `INSERT INTO credit_holds (id, account_id, reference, amount, from_included, from_purchased, created_at, expires_at)
         VALUES ('hld_stale', ?, 'stale', 5, 0, 5, 0, 1)`,
      ).bind(id),
      env.DB.prepare("INSERT INTO credit_hold_closures VALUES (?, 'settled', 0, 0, 2000, 0, 0)").bind(`hld_open_${id}`),
      env.DB.prepare("UPDATE credit_budget_usage SET used = 0 WHERE account_id = ?").bind(id),
      env.DB.prepare("UPDATE quota_usage SET used = 0 WHERE account_id = ?").bind(id),
      env.DB.prepare("UPDATE included_credit_grants SET expired_at = 1 WHERE account_id = ?").bind(id),
      env.DB.prepare("INSERT INTO credit_clawbacks VALUES ('clawback:x:1000', ?, 'x', 1, 1, 0, 0)").bind(id),
    ];
    for (const statement of refused) await expect(statement.run()).rejects.toThrow(/wallet_migrated/);
    // Another account's writes go on.
    const { user: other } = await registerUser();
    await env.DB.prepare("INSERT INTO credit_balances VALUES (?, 'purchased', 5)").bind(other.id).run();
    // The period granted before the move is not granted again.
    const again = await walletStub(id).grantIncluded(id, {
      planId: "free",
      amount: 3000,
      periodStart: monthStart(),
      periodEnd: monthStart() + 40 * 86_400_000,
    });
    expect(again).toBe(false);
  });

  it("applies a Stripe grant redelivered after the move once: it was applied before, in D1", async () => {
    const id = await legacyAccount();
    await walletBalances(id);
    expect(
      await grant(env, {
        accountId: id,
        bucket: "purchased",
        amount: 12000,
        reason: "credit_pack",
        reference: `pack:cs_legacy_${id}`,
      }),
    ).toBe(false);
    expect((await walletBalances(id)).balances.purchased).toBe(12000);
    // A new one is applied, to the wallet.
    expect(
      await grant(env, {
        accountId: id,
        bucket: "purchased",
        amount: 1000,
        reason: "credit_pack",
        reference: "pack:cs_new",
      }),
    ).toBe(true);
    expect((await walletBalances(id)).balances.purchased).toBe(13000);
    // A clawback continues from what was taken before the move.
    const clawed = await walletStub(id).clawBack(id, `cs_legacy_${id}`, 1500);
    expect(clawed).toEqual({ requested: 500, clawed: 500, shortfall: 0 });
  });

  it("copies the opening rows to D1 after the old ledger, each account's copy summing to its wallet", async () => {
    const id = await legacyAccount();
    await walletBalances(id);
    await drainWallet(id);
    const copied = await env.DB.prepare(
      "SELECT bucket, sum(amount) AS total FROM credit_ledger WHERE account_id = ? AND seq IS NOT NULL GROUP BY bucket ORDER BY bucket",
    )
      .bind(id)
      .all<{ bucket: string; total: number }>();
    expect(copied.results).toEqual([
      { bucket: "included", total: 3000 },
      { bucket: "purchased", total: 12000 },
    ]);
    expect(await countOf("SELECT count(*) AS n FROM credit_ledger WHERE account_id = ? AND seq IS NULL", id)).toBe(3);
  });

  it("migrates a fresh account with nothing to move, and an untouched one through the sweep", async () => {
    const { user } = await registerUser();
    expect(await walletBalances(user.id)).toMatchObject({ balances: { included: 0, purchased: 0 }, held: 0 });
    expect(await walletLedger(user.id)).toEqual([]);
    const dormant = await legacyAccount();
    const { migrateWalletsTask } = await import("../../../src/modules/billing/wallet/sweep");
    const { runtimeOf } = await import("../../helpers/runtime");
    await migrateWalletsTask.handle({ after: "" }, { ...runtimeOf(), taskId: "t", reference: "r", attempt: 1 });
    expect(await countOf("SELECT count(*) AS n FROM wallet_migrations WHERE account_id = ?", dormant)).toBe(1);
    expect(
      await runInDurableObject(walletStub(dormant), (_instance, state) =>
        state.storage.sql.exec<{ balance: number }>("SELECT balance FROM balances WHERE bucket = 'purchased'").one(),
      ),
    ).toEqual({ balance: 12000 });
  });
});
