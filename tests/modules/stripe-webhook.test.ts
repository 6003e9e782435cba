import { env } from "cloudflare:test";
import Stripe from "stripe";
import { describe, expect, it } from "vitest";
import { api, expectProblem } from "../helpers/client";
import { as, platformAdmin, registerUser } from "../helpers/identity";

const SECRET = "whsec_stratus_tests";
const cryptoProvider = Stripe.createSubtleCryptoProvider();
const stripe = new Stripe("sk_test_stratus_tests", { httpClient: Stripe.createFetchHttpClient() });

let events = 0;
function checkoutEvent(
  accountId: string,
  session: { id?: string; paid: boolean },
  type = "checkout.session.completed",
) {
  events += 1;
  const id = session.id ?? `cs_test_${crypto.randomUUID().slice(0, 12)}`;
  return {
    id: `evt_test_${events}_${crypto.randomUUID().slice(0, 8)}`,
    object: "event",
    type,
    api_version: "2025-01-01",
    created: Math.floor(Date.now() / 1000),
    data: {
      object: {
        id,
        object: "checkout.session",
        payment_intent: `pi_${id}`,
        mode: "payment",
        payment_status: session.paid ? "paid" : "unpaid",
        metadata: { account_id: accountId, pack_id: "credits-5000" },
      },
    },
  };
}

async function deliver(event: unknown, options: { secret?: string; timestamp?: number; tamper?: boolean } = {}) {
  const payload = JSON.stringify(event);
  const signature = await stripe.webhooks.generateTestHeaderStringAsync({
    payload,
    secret: options.secret ?? SECRET,
    timestamp: options.timestamp ?? Math.floor(Date.now() / 1000),
    cryptoProvider,
  });
  return api("/v1/billing/webhook", {
    method: "POST",
    body: options.tamper ? payload.replace("credits-5000", "credits-1000") : payload,
    headers: { "content-type": "application/json", "stripe-signature": signature },
  });
}

const purchased = async (accountId: string) =>
  (
    await env.DB.prepare("SELECT balance FROM credit_balances WHERE account_id = ? AND bucket = 'purchased'")
      .bind(accountId)
      .first<{ balance: number }>()
  )?.balance ?? 0;

/** Waits until the queue has processed the event's task. */
async function processed(eventId: string) {
  for (let i = 0; i < 100; i++) {
    const row = await env.DB.prepare("SELECT status FROM queue_tasks WHERE reference = ?")
      .bind(`stripe:${eventId}`)
      .first<{ status: string }>();
    if (row?.status === "processed") return;
    if (row?.status === "failed") throw new Error(`stripe:${eventId} failed`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`stripe:${eventId} was not processed`);
}

const storedEvents = async () =>
  (
    await env.DB.prepare("SELECT count(*) AS n FROM queue_tasks WHERE kind = 'billing.stripe-event'").first<{
      n: number;
    }>()
  )?.n ?? 0;

describe("POST /v1/billing/webhook", () => {
  it("refuses a missing, wrongly keyed, stale or altered signature with 400, and stores nothing", async () => {
    const user = await registerUser();
    const event = checkoutEvent(user.user.id, { paid: true });
    const before = await storedEvents();
    expectProblem(
      await api("/v1/billing/webhook", {
        method: "POST",
        json: event,
        headers: { "content-type": "application/json" },
      }),
      400,
      "validation_failed",
    );
    expectProblem(await deliver(event, { secret: "whsec_someone_else" }), 400, "invalid_signature");
    expectProblem(await deliver(event, { timestamp: Math.floor(Date.now() / 1000) - 301 }), 400, "invalid_signature");
    expectProblem(await deliver(event, { tamper: true }), 400, "invalid_signature");
    expect(await storedEvents()).toBe(before);
    expect(await purchased(user.user.id)).toBe(0);
  });

  it("grants a paid credit pack once, however often the event is delivered", async () => {
    const user = await registerUser();
    const event = checkoutEvent(user.user.id, { paid: true });
    const answers = await Promise.all(Array.from({ length: 10 }, () => deliver(event)));
    expect(answers.map((answer) => answer.status)).toEqual(Array(10).fill(200));
    await processed(event.id);
    expect(await purchased(user.user.id)).toBe(5_000_000);
    expect((await deliver(event)).status).toBe(200);
    await processed(event.id);
    expect(await purchased(user.user.id)).toBe(5_000_000);
  });

  it("grants nothing for an unpaid async checkout until its payment succeeds, then once", async () => {
    const user = await registerUser();
    const session = { id: `cs_test_${crypto.randomUUID().slice(0, 12)}`, paid: false };
    const completed = checkoutEvent(user.user.id, session);
    await deliver(completed);
    await processed(completed.id);
    expect(await purchased(user.user.id)).toBe(0);
    const succeeded = checkoutEvent(
      user.user.id,
      { ...session, paid: true },
      "checkout.session.async_payment_succeeded",
    );
    for (let i = 0; i < 3; i++) await deliver(succeeded);
    await processed(succeeded.id);
    // A second, distinct event for the same session grants nothing more: the session id is the reference.
    const again = checkoutEvent(user.user.id, { ...session, paid: true }, "checkout.session.async_payment_succeeded");
    await deliver(again);
    await processed(again.id);
    expect(await purchased(user.user.id)).toBe(5_000_000);
  });

  it("stores and ignores event types it does not handle", async () => {
    const event = { ...checkoutEvent("usr_nobody", { paid: true }), type: "customer.created" };
    expect((await deliver(event)).status).toBe(200);
    await processed(event.id);
  });
});

describe("charge.refunded", () => {
  let refunds = 0;
  const refundEvent = (sessionId: string, amountRefunded: number) => ({
    id: `evt_refund_${++refunds}_${crypto.randomUUID().slice(0, 8)}`,
    object: "event",
    type: "charge.refunded",
    data: {
      object: {
        id: `ch_${sessionId}`,
        object: "charge",
        amount: 5_000,
        amount_refunded: amountRefunded,
        payment_intent: `pi_${sessionId}`,
      },
    },
  });
  const clawbacks = async (accountId: string) =>
    (await env.DB.prepare(
      "SELECT coalesce(sum(clawed), 0) AS clawed, coalesce(sum(shortfall), 0) AS shortfall FROM credit_clawbacks WHERE account_id = ?",
    )
      .bind(accountId)
      .first<{ clawed: number; shortfall: number }>()) ?? { clawed: 0, shortfall: 0 };
  async function boughtPack(accountId: string) {
    const sessionId = `cs_test_${crypto.randomUUID().slice(0, 12)}`;
    const paid = checkoutEvent(accountId, { id: sessionId, paid: true });
    await deliver(paid);
    await processed(paid.id);
    return sessionId;
  }

  it("takes back a pack's credits in proportion to what was refunded, once, in any order", async () => {
    const user = await registerUser();
    const sessionId = await boughtPack(user.user.id);
    const half = refundEvent(sessionId, 2_500);
    const full = refundEvent(sessionId, 5_000);
    for (const event of [half, half, full, half]) {
      await deliver(event);
      await processed(event.id);
    }
    expect(await purchased(user.user.id)).toBe(0);
    expect(await clawbacks(user.user.id)).toEqual({ clawed: 5_000_000, shortfall: 0 });
  });

  it("never goes below zero: credits already spent are recorded as the shortfall", async () => {
    const user = await registerUser();
    const sessionId = await boughtPack(user.user.id);
    const { reserve, settle } = await import("../../src/modules/billing/ledger");
    await settle(env, await reserve(env, user.user.id, 4_000_000, `ai:${sessionId}`), 4_000_000);
    const full = refundEvent(sessionId, 5_000);
    await deliver(full);
    await processed(full.id);
    expect(await purchased(user.user.id)).toBe(0);
    expect(await clawbacks(user.user.id)).toEqual({ clawed: 1_000_000, shortfall: 4_000_000 });
  });
});

describe("POST /v1/admin/billing/events/:eventId/replay", () => {
  it("processes a stored event again for a platform admin, without applying its effect twice", async () => {
    const admin = await platformAdmin();
    const user = await registerUser();
    const event = checkoutEvent(user.user.id, { paid: true });
    await deliver(event);
    await processed(event.id);
    const replay = await api(`/v1/admin/billing/events/${event.id}/replay`, { method: "POST", headers: as(admin) });
    expect(replay.status).toBe(202);
    expect(replay.body).toMatchObject({ eventId: event.id, status: "received" });
    await processed(event.id);
    expect(await purchased(user.user.id)).toBe(5_000_000);
    const audit = await env.DB.prepare(
      "SELECT actor_id FROM audit_log WHERE action = 'admin.billing_event_replayed' AND target_id = ?",
    )
      .bind(event.id)
      .first<{ actor_id: string }>();
    expect(audit?.actor_id).toBe(admin.user.id);
  });

  it("is 404 for an unknown event, 400 for a malformed id, 403 for anyone but a platform admin", async () => {
    const admin = await platformAdmin();
    const user = await registerUser();
    const replay = (id: string, by = admin) =>
      api(`/v1/admin/billing/events/${id}/replay`, { method: "POST", headers: as(by) });
    expectProblem(await replay("evt_never_seen"), 404, "not_found");
    expectProblem(await replay("not-an-event"), 400, "validation_failed");
    expectProblem(await replay("evt_never_seen", user), 403, "forbidden");
  });
});
