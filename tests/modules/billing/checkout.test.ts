import { describe, expect, it, vi } from "vitest";
import { api, expectProblem } from "../../helpers/client";
import { countOf } from "../../helpers/db";
import { as, registerUser } from "../../helpers/identity";
import { expectMatrix, roleMatrix } from "../../helpers/roles";
import {
  deliverAll,
  deliverInOrder,
  included,
  openCheckout,
  PREMIUM_MONTHLY,
  PRO_MONTHLY,
  redirects,
  sim,
  subscribe,
  subscriptionOf,
} from "../../helpers/stripe";

// Each test waits on the queue a few times (its batches wait up to a second).
vi.setConfig({ testTimeout: 30_000 });

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
    expect(await countOf("SELECT count(*) AS n FROM billing_customers WHERE account_id = ?", user.user.id)).toBe(1);
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
    const cast = await roleMatrix();
    const { org, owner, admin, member } = cast;
    const inOrg = (user: typeof owner) => ({ ...as(user), "x-stratus-org": org.id });
    const refused = [403, "forbidden"] as const;
    const hidden = [404, "not_found"] as const;
    // Billing takes no API keys, whatever their scope.
    const managers = {
      owner: 201,
      admin: 201,
      member: refused,
      outsider: hidden,
      keyWithScope: refused,
      keyWithoutScope: refused,
    };
    await expectMatrix(
      cast,
      { path: "/v1/billing/checkout", json: { ...redirects, creditPack: "credits-1000" } },
      managers,
    );
    await expectMatrix(cast, { path: "/v1/billing/portal", json: { returnUrl: redirects.cancelUrl } }, managers);
    await expectMatrix(cast, { path: "/v1/billing/invoices" }, { ...managers, owner: 200, admin: 200 });
    await expectMatrix(
      cast,
      { path: "/v1/billing/subscription" },
      { owner: 200, admin: 200, member: 200, outsider: hidden, keyWithScope: refused, keyWithoutScope: refused },
    );
    await openCheckout(inOrg(admin), { creditPack: "credits-1000" });
    await subscribe(inOrg(owner), "premium");
    expect((await subscriptionOf(inOrg(member))).plan).toBe("premium");
    expect((await subscriptionOf(as(owner))).plan).toBe("free");
    expect(await included(org.id)).toBe(PREMIUM_MONTHLY);
    expect(await simulatorCustomers(org.id)).toBe(1);
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

describe("POST /v1/billing/portal", () => {
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
});

describe("GET /v1/billing/invoices", () => {
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
