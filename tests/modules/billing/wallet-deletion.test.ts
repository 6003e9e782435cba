import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { fund } from "../../helpers/ai";
import { api, expectProblem } from "../../helpers/client";
import { countOf } from "../../helpers/db";
import { as, platformAdmin, registerUser } from "../../helpers/identity";
import { createOrg } from "../../helpers/orgs";
import { drainWallet, walletBalances, walletStub } from "../../helpers/wallet";

/**
 * Deleting an org asks its wallet: purchased credits keep it (409) unless a platform admin
 * forces the deletion (audited with what was overridden); the deletion marks the wallet deleted
 * and its storage goes, its D1 copy stays for reporting.
 */

const storedTables = (orgId: string) =>
  runInDurableObject(walletStub(orgId), (_instance, state) =>
    state.storage.sql.exec<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table'").toArray(),
  );

describe("deleting an org with a wallet", () => {
  it("is refused while the org holds purchased credits, and forced by a platform admin", async () => {
    const owner = await registerUser();
    const org = await createOrg(owner);
    await fund(org.id, 5000);
    await drainWallet(org.id);
    const refused = await api(`/v1/orgs/${org.id}`, { method: "DELETE", headers: as(owner) });
    expectProblem(refused, 409, "conflict");
    expect((refused.body as { detail: string }).detail).toContain("5 purchased credits");
    // Owners cannot force; only platform admins, through their route.
    expectProblem(await api(`/v1/admin/orgs/${org.id}`, { method: "DELETE", headers: as(owner) }), 403, "forbidden");
    const admin = await platformAdmin();
    expect((await api(`/v1/admin/orgs/${org.id}`, { method: "DELETE", headers: as(admin) })).status).toBe(204);
    expect(await countOf("SELECT count(*) AS n FROM orgs WHERE id = ?", org.id)).toBe(0);
    const audit = await env.DB.prepare("SELECT action, details FROM audit_log WHERE target_id = ? ORDER BY created_at")
      .bind(org.id)
      .all<{ action: string; details: string }>();
    const forced = audit.results.find((entry) => entry.action === "org.force_deleted");
    expect(JSON.parse(forced?.details ?? "{}")).toEqual({ overridden: ["it still holds 5 purchased credits."] });
    // The wallet's storage goes (a queue task recorded with the deletion), its copy stays, marked; it never opens again.
    await expect.poll(() => storedTables(org.id), { timeout: 10_000 }).toEqual([]);
    expect(
      await countOf(
        "SELECT count(*) AS n FROM wallet_migrations WHERE account_id = ? AND deleted_at IS NOT NULL",
        org.id,
      ),
    ).toBe(1);
    expect(
      await countOf("SELECT count(*) AS n FROM wallet_copies WHERE account_id = ? AND deleted_at IS NOT NULL", org.id),
    ).toBe(1);
    expect(await countOf("SELECT count(*) AS n FROM credit_ledger WHERE account_id = ?", org.id)).toBe(1);
    await expect(walletBalances(org.id)).rejects.toThrow(/deleted/);
    expect(await storedTables(org.id)).toEqual([]);
  });

  it("goes through for an org without purchased credits, and a forced deletion still respects a live subscription", async () => {
    const owner = await registerUser();
    const org = await createOrg(owner);
    expect((await api(`/v1/orgs/${org.id}`, { method: "DELETE", headers: as(owner) })).status).toBe(204);
    expect(
      await countOf(
        "SELECT count(*) AS n FROM wallet_migrations WHERE account_id = ? AND deleted_at IS NOT NULL",
        org.id,
      ),
    ).toBe(1);
    const admin = await platformAdmin();
    expectProblem(await api(`/v1/admin/orgs/${org.id}`, { method: "DELETE", headers: as(admin) }), 404, "not_found");
    const subscribed = await createOrg(owner, "Subscribed");
    const now = Date.now();
    await env.DB.prepare(
      `INSERT INTO billing_subscriptions (id, account_id, customer_id, status, plan_id, interval, price_id,
         current_period_start, current_period_end, cancel_at_period_end, created_at, updated_at)
       VALUES ('sub_deletion', ?, 'cus_deletion', 'active', 'pro', 'month', 'price_x', ?, ?, 0, ?, ?)`,
    )
      .bind(subscribed.id, now, now + 86_400_000, now, now)
      .run();
    const kept = await api(`/v1/admin/orgs/${subscribed.id}`, { method: "DELETE", headers: as(admin) });
    expectProblem(kept, 409, "conflict");
    expect((kept.body as { detail: string }).detail).toContain("live subscription");
  });
});
