import { env } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import {
  expireEndedGrants,
  grantMonthlyToUnsubscribed,
  grantYearlyMonths,
} from "../../src/modules/billing/credits/included";
import { downgradeAfterGrace } from "../../src/modules/billing/dunning/downgrade";
import { subscriptionOf as stateOf } from "../../src/modules/billing/subscriptions/service";
import { clock, testClock } from "../../src/platform/clock";
import { createLogger } from "../../src/platform/logger";
import { api, expectProblem } from "../helpers/client";
import { as, registerUser } from "../helpers/identity";
import { createOrg, join, verified } from "../helpers/orgs";
import {
  balanceOf,
  deliver,
  deliverAll,
  deliverInOrder,
  openCheckout,
  processed,
  redirects,
  type StripeEvent,
  sim,
  subscribe,
} from "../helpers/stripe";

afterEach(() => testClock.reset());
// Each test waits on the queue a few times (its batches wait up to a second).
vi.setConfig({ testTimeout: 30_000 });

const DAY = 86_400_000;
const logger = createLogger("error");
const included = (accountId: string) => balanceOf(accountId, "included");
const PRO_MONTHLY = 25_000_000;
const PREMIUM_MONTHLY = 5_000_000;

type SubscriptionState = {
  plan: string;
  subscription: null | {
    id: string;
    status: string;
    plan: string | null;
    cancelAtPeriodEnd: boolean;
    entitled: boolean;
  };
};
const subscriptionOf = async (headers: Record<string, string>) =>
  (await api<SubscriptionState>("/v1/billing/subscription", { headers })).body;

const simulatorCustomers = async (accountId: string) =>
  (await sim<{ data: unknown[] }>(`customers?account_id=${accountId}`)).data.length;

describe("POST /v1/billing/checkout", () => {
  it("opens a subscription checkout; paying it puts the account on the plan with its included credits", async () => {
    const user = await registerUser();
    const checkout = await openCheckout(as(user), { plan: "pro", interval: "month" });
    expect(checkout.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/checkout\/cs_/);
    const { events } = await sim(`checkout_sessions/${checkout.id}/complete`, {});
    expect(events.map((event) => event.type)).toEqual([
      "checkout.session.completed",
      "customer.subscription.created",
      "invoice.paid",
    ]);
    await deliverInOrder(events);
    const state = await subscriptionOf(as(user));
    expect(state).toMatchObject({ plan: "pro", subscription: { status: "active", plan: "pro", entitled: true } });
    expect(await included(user.user.id)).toBe(PRO_MONTHLY);
  });

  it("creates the Stripe customer once when first checkouts race", async () => {
    const user = await registerUser();
    const answers = await Promise.all(
      Array.from({ length: 8 }, () =>
        api("/v1/billing/checkout", { json: { ...redirects, creditPack: "credits-1000" }, headers: as(user) }),
      ),
    );
    expect(answers.map((answer) => answer.status)).toEqual(Array(8).fill(201));
    expect(await simulatorCustomers(user.user.id)).toBe(1);
    const stored = await env.DB.prepare("SELECT count(*) AS n FROM billing_customers WHERE account_id = ?")
      .bind(user.user.id)
      .first<{ n: number }>();
    expect(stored?.n).toBe(1);
  });

  it("refuses a second subscription while one is live (409): change it instead", async () => {
    const user = await registerUser();
    await subscribe(as(user));
    const again = await api("/v1/billing/checkout", {
      json: { ...redirects, plan: "premium", interval: "month" },
      headers: as(user),
    });
    expectProblem(again, 409, "conflict");
    // A credit pack is still for sale.
    await openCheckout(as(user), { creditPack: "credits-1000" });
  });

  it("expires an older open subscription checkout when a newer one opens: only one can be paid", async () => {
    const user = await registerUser();
    const first = await openCheckout(as(user), { plan: "pro", interval: "month" });
    const pack = await openCheckout(as(user), { creditPack: "credits-1000" });
    const second = await openCheckout(as(user), { plan: "premium", interval: "month" });
    await expect(sim(`checkout_sessions/${first.id}/complete`, {})).rejects.toThrow(/expired/);
    await sim(`checkout_sessions/${pack.id}/complete`, {});
    await sim(`checkout_sessions/${second.id}/complete`, {});
  });

  it("refuses bad bodies and foreign redirects with 400, creating nothing at Stripe", async () => {
    const user = await registerUser();
    const checkout = (body: Record<string, unknown>) => api("/v1/billing/checkout", { json: body, headers: as(user) });
    const cases: [Record<string, unknown>, string][] = [
      [{ ...redirects, plan: "pro" }, "body.interval"],
      [{ ...redirects, creditPack: "credits-1000", plan: "pro", interval: "month" }, "body.plan"],
      [{ ...redirects }, "body.plan"],
      [{ ...redirects, creditPack: "credits-1000", interval: "month" }, "body.interval"],
      [{ ...redirects, plan: "free", interval: "month" }, "body.plan"],
      [{ ...redirects, plan: "pro", interval: "week" }, "body.interval"],
      [{ ...redirects, creditPack: "credits-7" }, "body.creditPack"],
      [{ ...redirects, creditPack: "credits-1000", credits: 1e9 }, "body"],
      [{ ...redirects, creditPack: "credits-1000", successUrl: "https://evil.example/steal" }, "body.successUrl"],
      [{ ...redirects, creditPack: "credits-1000", cancelUrl: "javascript:alert(1)" }, "body.cancelUrl"],
    ];
    for (const [body, path] of cases) {
      const answer = expectProblem(await checkout(body), 400, "validation_failed");
      expect(JSON.stringify(answer.errors), JSON.stringify(body)).toContain(path);
    }
    expect(await simulatorCustomers(user.user.id)).toBe(0);
  });

  it("lets org owners and admins buy for the org; members get 403, outsiders 404", async () => {
    const owner = await verified();
    const admin = await verified();
    const member = await verified();
    const outsider = await verified();
    const org = await createOrg(owner);
    await join(org, owner, admin, "admin");
    await join(org, owner, member, "member");
    const inOrg = (user: typeof owner) => ({ ...as(user), "x-stratus-org": org.id });
    const body = { json: { ...redirects, creditPack: "credits-1000" } };
    expectProblem(await api("/v1/billing/checkout", { ...body, headers: inOrg(member) }), 403, "forbidden");
    expectProblem(
      await api("/v1/billing/portal", { json: { returnUrl: redirects.cancelUrl }, headers: inOrg(member) }),
      403,
      "forbidden",
    );
    expectProblem(await api("/v1/billing/invoices", { headers: inOrg(member) }), 403, "forbidden");
    expectProblem(await api("/v1/billing/checkout", { ...body, headers: inOrg(outsider) }), 404, "not_found");
    expectProblem(await api("/v1/billing/subscription", { headers: inOrg(outsider) }), 404, "not_found");
    await openCheckout(inOrg(admin), { creditPack: "credits-1000" });
    await subscribe(inOrg(owner), "premium");
    expect((await subscriptionOf(inOrg(member))).plan).toBe("premium");
    expect((await subscriptionOf(as(owner))).plan).toBe("free");
    expect(await included(org.id)).toBe(PREMIUM_MONTHLY);
    expect(await simulatorCustomers(org.id)).toBe(1);
  });

  it("keeps an org with a live subscription from being deleted (409)", async () => {
    const owner = await verified();
    const org = await createOrg(owner);
    const headers = { ...as(owner), "x-stratus-org": org.id };
    const { subscriptionId } = await subscribe(headers);
    expectProblem(await api(`/v1/orgs/${org.id}`, { method: "DELETE", headers: as(owner) }), 409, "conflict");
    await deliverAll((await sim(`subscriptions/${subscriptionId}/cancel`, {})).events);
    expect((await api(`/v1/orgs/${org.id}`, { method: "DELETE", headers: as(owner) })).status).toBe(204);
  });

  it("answers 503 when Stripe fails, and the request can be retried", async () => {
    const user = await registerUser();
    await sim("fail_next", { method: "POST", path_prefix: "/v1/customers", status: 500, times: 3 });
    const failed = await api("/v1/billing/checkout", {
      json: { ...redirects, creditPack: "credits-1000" },
      headers: as(user),
    });
    expectProblem(failed, 503, "provider_unavailable");
    expect(failed.text).not.toContain("sk_test");
    await openCheckout(as(user), { creditPack: "credits-1000" });
  });

  it("answers in its own words when Stripe echoes the request (key included) or answers no JSON", async () => {
    const user = await registerUser();
    for (const hostile of ["echo_headers", "garbage"]) {
      await sim("fail_next", { method: "POST", path_prefix: "/v1/customers", status: 400, times: 1, hostile });
      const failed = await api("/v1/billing/checkout", {
        json: { ...redirects, creditPack: "credits-1000" },
        headers: as(user),
      });
      const problem = expectProblem(failed, 503, "provider_unavailable");
      expect(problem.detail).toBe("Stripe did not complete the request; try again shortly.");
      expect(failed.text).not.toContain("sk_test_stratus_tests");
      expect(failed.text).not.toContain("received headers");
    }
    await openCheckout(as(user), { creditPack: "credits-1000" });
  });
});

describe("POST /v1/billing/portal and GET /v1/billing/invoices", () => {
  it("opens the portal for an allowed return URL only", async () => {
    const user = await registerUser();
    const portal = await api<{ url: string }>("/v1/billing/portal", {
      json: { returnUrl: redirects.cancelUrl },
      headers: as(user),
    });
    expect(portal.status).toBe(201);
    expect(portal.body.url).toMatch(/\/portal\/bps_/);
    const foreign = await api("/v1/billing/portal", {
      json: { returnUrl: "https://evil.example/" },
      headers: as(user),
    });
    expectProblem(foreign, 400, "validation_failed");
  });

  it("pages through the account's invoices, newest first", async () => {
    const user = await registerUser();
    expect((await api("/v1/billing/invoices", { headers: as(user) })).body).toEqual({ items: [], nextCursor: null });
    const { subscriptionId } = await subscribe(as(user));
    await deliverAll((await sim(`subscriptions/${subscriptionId}/renew`, {})).events);
    await deliverAll((await sim(`subscriptions/${subscriptionId}/renew`, {})).events);
    type Page = { items: { id: string; billingReason: string; status: string }[]; nextCursor: string | null };
    const first = await api<Page>("/v1/billing/invoices?limit=2", { headers: as(user) });
    expect(first.body.items.map((invoice) => invoice.billingReason)).toEqual([
      "subscription_cycle",
      "subscription_cycle",
    ]);
    expect(first.body.nextCursor).toBe(first.body.items[1]?.id);
    const second = await api<Page>(`/v1/billing/invoices?limit=2&cursor=${first.body.nextCursor}`, {
      headers: as(user),
    });
    expect(second.body).toMatchObject({
      items: [{ billingReason: "subscription_create", status: "paid" }],
      nextCursor: null,
    });
    expectProblem(await api("/v1/billing/invoices?cursor=x%27--", { headers: as(user) }), 400, "validation_failed");
    expectProblem(await api("/v1/billing/invoices?limit=101", { headers: as(user) }), 400, "validation_failed");
  });
});

describe("subscription changes", () => {
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
    const ledger = await env.DB.prepare("SELECT count(*) AS n FROM credit_ledger WHERE account_id = ?")
      .bind(user.user.id)
      .first<{ n: number }>();
    expect(ledger?.n).toBe(1);
  });

  it("grants each period's credits once and expires what the last period left", async () => {
    const user = await registerUser();
    const { subscriptionId } = await subscribe(as(user));
    const { reserve, settle } = await import("../../src/modules/billing/credits/ledger");
    await settle(env, await reserve(env, user.user.id, 10_000_000, `ai:${subscriptionId}`), 10_000_000);
    const { events: renewal } = await sim(`subscriptions/${subscriptionId}/renew`, {});
    await deliverAll(renewal);
    await deliverAll(renewal);
    // 15 000 credits were left: they expired when the new period's 25 000 came.
    expect(await included(user.user.id)).toBe(PRO_MONTHLY);
    const reasons = await env.DB.prepare(
      "SELECT reason, amount FROM credit_ledger WHERE account_id = ? AND bucket = 'included' ORDER BY created_at, rowid",
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

describe("included credits, late and odd invoices", () => {
  it("a late or replayed invoice of an earlier period takes nothing from the current one", async () => {
    const user = await registerUser();
    const { subscriptionId, events } = await subscribe(as(user));
    const firstInvoice = events.find((event) => event.type === "invoice.paid");
    if (!firstInvoice) throw new Error("no invoice.paid");
    await deliverAll((await sim(`subscriptions/${subscriptionId}/renew`, {})).events);
    expect(await included(user.user.id)).toBe(PRO_MONTHLY);
    await deliverAll([{ ...firstInvoice, id: `${firstInvoice.id}_late` }]);
    expect(await included(user.user.id)).toBe(PRO_MONTHLY);
    const grants = await env.DB.prepare("SELECT count(*) AS n FROM included_credit_grants WHERE account_id = ?")
      .bind(user.user.id)
      .first<{ n: number }>();
    expect(grants?.n).toBe(2);
  });

  it("grants a cycle invoice's plan line, never its proration lines", async () => {
    const user = await registerUser();
    const { subscriptionId } = await subscribe(as(user), "premium");
    const { events } = await sim(`subscriptions/${subscriptionId}/renew`, {});
    const renewal = events.find((event) => event.type === "invoice.paid");
    if (!renewal) throw new Error("no invoice.paid");
    const invoice = renewal.data.object as unknown as { lines: { data: Record<string, unknown>[] } };
    const [line] = invoice.lines.data;
    const period = line?.period as { start: number; end: number };
    const proration = {
      ...line,
      period: { start: period.start + 86_400, end: period.end },
      parent: { type: "subscription_item_details", subscription_item_details: { proration: true } },
    };
    const withProration = { ...invoice, lines: { ...invoice.lines, data: [proration, ...invoice.lines.data] } };
    await deliverAll([{ ...renewal, data: { object: withProration as unknown as typeof renewal.data.object } }]);
    const periods = await env.DB.prepare(
      "SELECT period_start FROM included_credit_grants WHERE account_id = ? ORDER BY period_start",
    )
      .bind(user.user.id)
      .all<{ period_start: number }>();
    expect(periods.results.at(-1)?.period_start).toBe(period.start * 1000);
    expect(await included(user.user.id)).toBe(PREMIUM_MONTHLY);
  });
});

describe("dunning", () => {
  it("past_due keeps the plan through the grace period, emails the owner, then the cron downgrades to free", async () => {
    const user = await registerUser();
    const { subscriptionId, customerId } = await subscribe(as(user));
    await deliverAll((await sim(`subscriptions/${subscriptionId}/payment_failed`, {})).events);
    const state = await subscriptionOf(as(user));
    expect(state).toMatchObject({ plan: "pro", subscription: { status: "past_due", entitled: true } });
    const mail = await env.DB.prepare(
      "SELECT count(*) AS n FROM email_outbox WHERE to_address = ? AND template = 'paymentFailed'",
    )
      .bind(user.email)
      .first<{ n: number }>();
    expect(mail?.n).toBe(1);
    await downgradeAfterGrace(env, clock.now(), logger);
    expect((await stateOf(env, user.user.id)).plan).toBe("pro");
    testClock.advance(7 * DAY + 1);
    expect(await downgradeAfterGrace(env, clock.now(), logger)).toBeGreaterThanOrEqual(1);
    // (The access token has expired by now: read the state directly.)
    expect(await stateOf(env, user.user.id)).toMatchObject({ plan: "free", subscription: { status: "canceled" } });
    const { data } = await sim<{ data: StripeEvent[] }>(`events?customer=${customerId}`);
    expect(data.at(-1)).toMatchObject({
      type: "customer.subscription.deleted",
      data: { object: { status: "canceled" } },
    });
  });

  it("never cancels a subscription paid before the grace ended, even if its events are still on the way", async () => {
    const user = await registerUser();
    const { subscriptionId } = await subscribe(as(user));
    await deliverAll((await sim(`subscriptions/${subscriptionId}/payment_failed`, {})).events);
    await sim(`subscriptions/${subscriptionId}/recover`, {});
    testClock.advance(7 * DAY + 1);
    await downgradeAfterGrace(env, clock.now(), logger);
    expect(await stateOf(env, user.user.id)).toMatchObject({ plan: "pro", subscription: { status: "active" } });
  });

  it("emails the owners once, however often the subscription is seen past due", async () => {
    const user = await registerUser();
    const { subscriptionId } = await subscribe(as(user));
    const { events } = await sim(`subscriptions/${subscriptionId}/payment_failed`, {});
    await deliverAll(events);
    await deliverAll(events.map((event) => ({ ...event, id: `${event.id}_again` })));
    await deliverAll((await sim(`subscriptions/${subscriptionId}/payment_failed`, {})).events);
    const mail = await env.DB.prepare(
      "SELECT count(*) AS n FROM email_outbox WHERE to_address = ? AND template = 'paymentFailed'",
    )
      .bind(user.email)
      .first<{ n: number }>();
    expect(mail?.n).toBe(1);
  });

  it("starts on Stripe's report of the failed payment, never on another event that finds the subscription past due", async () => {
    const user = await registerUser();
    const { subscriptionId, events: subscribed } = await subscribe(as(user));
    const reported = (await sim(`subscriptions/${subscriptionId}/payment_failed`, {})).events;
    // A late copy of the first paid invoice re-reads the subscription, past due by now: no email.
    const paid = subscribed.find((event) => event.type === "invoice.paid");
    if (!paid) throw new Error("the checkout had no paid invoice");
    await deliverAll([{ ...paid, id: `${paid.id}_late` }]);
    const emails = async () =>
      (
        await env.DB.prepare(
          "SELECT count(*) AS n FROM email_outbox WHERE to_address = ? AND template = 'paymentFailed'",
        )
          .bind(user.email)
          .first<{ n: number }>()
      )?.n;
    expect(await subscriptionOf(as(user))).toMatchObject({ subscription: { status: "past_due", entitled: true } });
    expect(await emails()).toBe(0);
    await deliverAll(reported);
    expect(await emails()).toBe(1);
  });

  it("a recovered payment ends the grace period", async () => {
    const user = await registerUser();
    const { subscriptionId } = await subscribe(as(user));
    await deliverAll((await sim(`subscriptions/${subscriptionId}/payment_failed`, {})).events);
    await deliverAll((await sim(`subscriptions/${subscriptionId}/recover`, {})).events);
    expect(await subscriptionOf(as(user))).toMatchObject({ subscription: { status: "active" } });
    testClock.advance(8 * DAY);
    await downgradeAfterGrace(env, clock.now(), logger);
    expect(await stateOf(env, user.user.id)).toMatchObject({
      plan: "pro",
      subscription: { status: "active", downgradedAt: null },
    });
  });
});

describe("included credits by the cron", () => {
  it("grants verified users without a subscription their plan's month once; unverified users get nothing", async () => {
    const verifiedUser = await verified();
    const unverified = await registerUser();
    const subscribed = await verified();
    await subscribe(as(subscribed), "premium");
    for (let run = 0; run < 3; run++) await grantMonthlyToUnsubscribed(env, clock.now(), 1_000);
    expect(await included(verifiedUser.user.id)).toBe(100_000);
    expect(await included(unverified.user.id)).toBe(0);
    expect(await included(subscribed.user.id)).toBe(PREMIUM_MONTHLY);
  });

  it("grants a yearly plan month by month, and expires a period nobody renewed", async () => {
    const user = await registerUser();
    await subscribe(as(user), "pro", "year");
    expect(await included(user.user.id)).toBe(PRO_MONTHLY);
    expect(await grantYearlyMonths(env, clock.now())).toBe(0);
    testClock.advance(32 * DAY);
    expect(await expireEndedGrants(env, clock.now())).toBeGreaterThanOrEqual(1);
    expect(await included(user.user.id)).toBe(0);
    expect(await grantYearlyMonths(env, clock.now())).toBeGreaterThanOrEqual(1);
    expect(await grantYearlyMonths(env, clock.now())).toBe(0);
    expect(await included(user.user.id)).toBe(PRO_MONTHLY);
  });
});
