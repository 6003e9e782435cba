import { env } from "cloudflare:test";
import { describe, expect, it, vi } from "vitest";
import { api, expectProblem } from "../../helpers/client";
import { countOf } from "../../helpers/db";
import { as, registerUser } from "../../helpers/identity";
import { createOrg, verified } from "../../helpers/orgs";
import {
  deliver,
  deliverAll,
  deliverInOrder,
  included,
  openCheckout,
  PREMIUM_MONTHLY,
  PRO_MONTHLY,
  processed,
  type StripeEvent,
  sim,
  subscribe,
  subscriptionOf,
} from "../../helpers/stripe";
import { drainWallet, spendCredits } from "../../helpers/wallet";

// Each test waits on the queue a few times (its batches wait up to a second).
vi.setConfig({ testTimeout: 30_000 });

describe("POST /v1/billing/subscription/cancel and /resume", () => {
  it("cancels at period end and resumes; the plan stays meanwhile", async () => {
    const user = await registerUser();
    await subscribe(as(user));
    const post = (path: string) => api(`/v1/billing/subscription/${path}`, { method: "POST", headers: as(user) });
    expectProblem(await post("resume"), 409, "conflict");
    expect((await post("cancel")).body).toMatchObject({ status: "active", cancelAtPeriodEnd: true });
    expect((await subscriptionOf(as(user))).plan).toBe("pro");
    expect((await post("resume")).body).toMatchObject({ cancelAtPeriodEnd: false });
    const audit = await env.DB.prepare(
      "SELECT action FROM audit_log WHERE actor_id = ? AND action LIKE 'billing.%' ORDER BY created_at",
    )
      .bind(user.user.id)
      .all<{ action: string }>();
    expect(audit.results.map((row) => row.action)).toEqual([
      "billing.subscription_canceled",
      "billing.subscription_resumed",
    ]);
  });

  it("is 404 without a live subscription", async () => {
    const user = await registerUser();
    expectProblem(
      await api("/v1/billing/subscription/cancel", { method: "POST", headers: as(user) }),
      404,
      "not_found",
    );
    expect(await subscriptionOf(as(user))).toEqual({ plan: "free", subscription: null });
  });
});

describe("POST /v1/billing/subscription/change", () => {
  it("changes plan with proration: the proration invoice grants no included credits", async () => {
    const user = await registerUser();
    const { customerId } = await subscribe(as(user), "premium");
    const changed = await api("/v1/billing/subscription/change", {
      json: { plan: "pro", interval: "month" },
      headers: as(user),
    });
    expect(changed.body).toMatchObject({ plan: "pro", interval: "month", status: "active" });
    const { data } = await sim<{ data: StripeEvent[] }>(`events?customer=${customerId}`);
    const proration = data.filter((event) => event.type === "invoice.paid").at(-1);
    expect(proration?.data.object.billing_reason).toBe("subscription_update");
    await deliverAll(data.slice(-2));
    expect(await included(user.user.id)).toBe(PREMIUM_MONTHLY);
    expect((await subscriptionOf(as(user))).plan).toBe("pro");
    const same = await api("/v1/billing/subscription/change", {
      json: { plan: "pro", interval: "month" },
      headers: as(user),
    });
    expectProblem(same, 409, "conflict");
    const unsold = await api("/v1/billing/subscription/change", {
      json: { plan: "gold", interval: "month" },
      headers: as(user),
    });
    expectProblem(unsold, 400, "validation_failed");
  });
});

describe("subscription events", () => {
  it("converge on Stripe's state: `updated` after `deleted` stays deleted", async () => {
    const user = await registerUser();
    const { subscriptionId, customerId } = await subscribe(as(user));
    const { events: canceled } = await sim(`subscriptions/${subscriptionId}/cancel`, {});
    const { data } = await sim<{ data: StripeEvent[] }>(`events?customer=${customerId}`);
    const staleUpdate = data.find((event) => event.type === "customer.subscription.created");
    if (!staleUpdate) throw new Error("no created event");
    await deliverInOrder(canceled);
    await deliverInOrder([{ ...staleUpdate, id: `${staleUpdate.id}_late`, type: "customer.subscription.updated" }]);
    expect(await subscriptionOf(as(user))).toMatchObject({ plan: "free", subscription: { status: "canceled" } });
  });

  it("apply once each when three events arrive three times each, shuffled", async () => {
    const user = await registerUser();
    const checkout = await openCheckout(as(user), { plan: "pro", interval: "month" });
    const { events } = await sim(`checkout_sessions/${checkout.id}/complete`, {});
    const deliveries = [...events, ...events, ...events].sort(() => Math.random() - 0.5);
    for (const event of deliveries) expect((await deliver(event)).status).toBe(200);
    for (const event of events) await processed(event.id);
    expect(await included(user.user.id)).toBe(PRO_MONTHLY);
    await drainWallet(user.user.id);
    expect(await countOf("SELECT count(*) AS n FROM credit_ledger WHERE account_id = ?", user.user.id)).toBe(1);
  });

  it("grants each period's credits once and expires what the last period left", async () => {
    const user = await registerUser();
    const { subscriptionId } = await subscribe(as(user));
    expect(await spendCredits(user.user.id, 10_000_000, `ai:${subscriptionId}`)).toBe(10_000_000);
    const { events: renewal } = await sim(`subscriptions/${subscriptionId}/renew`, {});
    await deliverAll(renewal);
    await deliverAll(renewal);
    // 15 000 credits were left: they expired when the new period's 25 000 came.
    expect(await included(user.user.id)).toBe(PRO_MONTHLY);
    await drainWallet(user.user.id);
    const reasons = await env.DB.prepare(
      "SELECT reason, amount FROM credit_ledger WHERE account_id = ? AND bucket = 'included' ORDER BY seq",
    )
      .bind(user.user.id)
      .all<{ reason: string; amount: number }>();
    expect(reasons.results.filter((row) => row.reason.startsWith("included"))).toEqual([
      { reason: "included", amount: PRO_MONTHLY },
      { reason: "included_expired", amount: -15_000_000 },
      { reason: "included", amount: PRO_MONTHLY },
    ]);
  });
});

describe("DELETE /v1/orgs/{orgId} with a live subscription", () => {
  it("keeps an org with a live subscription from being deleted (409)", async () => {
    const owner = await verified();
    const org = await createOrg(owner);
    const headers = { ...as(owner), "x-stratus-org": org.id };
    const { subscriptionId } = await subscribe(headers);
    expectProblem(await api(`/v1/orgs/${org.id}`, { method: "DELETE", headers: as(owner) }), 409, "conflict");
    await deliverAll((await sim(`subscriptions/${subscriptionId}/cancel`, {})).events);
    expect((await api(`/v1/orgs/${org.id}`, { method: "DELETE", headers: as(owner) })).status).toBe(204);
  });
});
