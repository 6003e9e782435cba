import { env } from "cloudflare:test";
import { describe, expect, it, vi } from "vitest";
import { type ApiResponse, api, expectProblem } from "../../helpers/client";
import { as, platformAdmin, registerUser } from "../../helpers/identity";
import { balanceOf, buyPack, deliver, deliverInOrder, processed, sim } from "../../helpers/stripe";
import { spendCredits, walletRows } from "../../helpers/wallet";

const purchased = (accountId: string) => balanceOf(accountId, "purchased");

const storedEvents = async () =>
  (
    await env.DB.prepare("SELECT count(*) AS n FROM queue_tasks WHERE kind = 'billing.stripe-event'").first<{
      n: number;
    }>()
  )?.n ?? 0;

/** An event Stratus stores and does not act on. */
const unhandledEvent = () => ({
  id: `evt_test_${crypto.randomUUID().slice(0, 12)}`,
  object: "event",
  type: "customer.created",
  data: { object: { id: "cus_nobody", object: "customer" } },
});

const statusOf = async (eventId: string) =>
  (
    await env.DB.prepare("SELECT status FROM queue_tasks WHERE reference = ?")
      .bind(`stripe:${eventId}`)
      .first<{ status: string }>()
  )?.status;

/** The D1 statements and sequential Durable Object round trips an answer reports (`Server-Timing`). */
function ioOf(response: ApiResponse) {
  const timing = response.headers.get("server-timing") ?? "";
  const count = (name: string) => Number(new RegExp(`${name};desc="(\\d+)"`).exec(timing)?.[1] ?? Number.NaN);
  return { d1: count("d1"), do: count("do") };
}

describe("POST /v1/billing/webhook", () => {
  it("refuses a missing, wrongly keyed, stale or altered signature with 400, and stores nothing", async () => {
    const user = await registerUser();
    const {
      events: [event],
    } = await buyPack(as(user));
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
    const altered = JSON.stringify(event).replace('"paid"', '"unpaid"');
    expectProblem(await deliver(event, { body: altered }), 400, "invalid_signature");
    expect(await storedEvents()).toBe(before);
    expect(await purchased(user.user.id)).toBe(0);
  });

  it("grants a paid credit pack once, however often the event is delivered", async () => {
    const user = await registerUser();
    const {
      events: [event],
    } = await buyPack(as(user));
    if (!event) throw new Error("no checkout event");
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
    const { checkout, events } = await buyPack(as(user), "credits-5000", false);
    await deliverInOrder(events);
    expect(await purchased(user.user.id)).toBe(0);
    const { events: succeeded } = await sim(`checkout_sessions/${checkout.id}/async_payment`, { succeeded: true });
    for (let i = 0; i < 3; i++) await deliverInOrder(succeeded);
    // The late `completed`, delivered again now that the session is paid, grants nothing more.
    await deliverInOrder(events);
    expect(await purchased(user.user.id)).toBe(5_000_000);
  });

  it("processes an event stored while the queue was down when Stripe delivers it again", async () => {
    const user = await registerUser();
    const {
      events: [event],
    } = await buyPack(as(user));
    if (!event) throw new Error("no checkout event");
    const send = vi.spyOn(env.JOBS, "send").mockRejectedValue(new Error("queue unavailable"));
    expect((await deliver(event)).status).toBe(200);
    expect(send).toHaveBeenCalled();
    send.mockRestore();
    const stored = await env.DB.prepare("SELECT status FROM queue_tasks WHERE reference = ?")
      .bind(`stripe:${event.id}`)
      .first<{ status: string }>();
    expect(stored?.status).toBe("received");
    expect(await purchased(user.user.id)).toBe(0);
    await deliverInOrder([event]);
    expect(await purchased(user.user.id)).toBe(5_000_000);
  });

  it("answers once the event is stored, without waiting for the queue to take it", async () => {
    const event = unhandledEvent();
    let release = () => {};
    const queueTakesIt = new Promise<void>((resolve) => {
      release = resolve;
    });
    // The queue holds the send until the answer is in, then refuses it: the row must be stored already.
    const send = vi.spyOn(env.JOBS, "send").mockImplementation(async () => {
      await queueTakesIt;
      throw new Error("queue unavailable");
    });
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      const waited = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error("the answer waited for the queue")), 2_000);
      });
      expect((await Promise.race([deliver(event), waited])).status).toBe(200);
      expect(send).toHaveBeenCalledTimes(1);
      expect(await statusOf(event.id)).toBe("received");
    } finally {
      clearTimeout(timer);
      release();
      send.mockRestore();
    }
    // The send failed after the answer: the row stays `received`, and Stripe's redelivery sends it.
    expect(await statusOf(event.id)).toBe("received");
    expect((await deliver(event)).status).toBe(200);
    await processed(event.id);
  });

  it("stores a new event with one D1 statement before answering, and no Durable Object call", async () => {
    const event = unhandledEvent();
    const first = await deliver(event);
    expect(first.status).toBe(200);
    expect(ioOf(first)).toEqual({ d1: 1, do: 0 });
    // A redelivery records nothing, and reads the stored row to see whether to send it again.
    const again = await deliver(event);
    expect(again.status).toBe(200);
    expect(ioOf(again)).toEqual({ d1: 2, do: 0 });
    const rows = await env.DB.prepare("SELECT count(*) AS n FROM queue_tasks WHERE reference = ?")
      .bind(`stripe:${event.id}`)
      .first<{ n: number }>();
    expect(rows?.n).toBe(1);
  });

  it("sends a redelivered event to the queue only while it is not processed or failed", async () => {
    const event = unhandledEvent();
    expect((await deliver(event)).status).toBe(200);
    await processed(event.id);
    const send = vi.spyOn(env.JOBS, "send");
    try {
      expect((await deliver(event)).status).toBe(200);
      await env.DB.prepare("UPDATE queue_tasks SET status = 'failed' WHERE reference = ?")
        .bind(`stripe:${event.id}`)
        .run();
      expect((await deliver(event)).status).toBe(200);
      expect(send).not.toHaveBeenCalled();
      expect(await statusOf(event.id)).toBe("failed");
    } finally {
      send.mockRestore();
    }
  });

  it("refuses a body over 256 KiB with 413 and stores nothing", async () => {
    const event = { ...unhandledEvent(), padding: "x".repeat(256 * 1024) };
    const before = await storedEvents();
    expectProblem(await deliver(event), 413, "payload_too_large");
    expect(await storedEvents()).toBe(before);
  });

  it("stores and ignores event types it does not handle", async () => {
    const event = unhandledEvent();
    expect((await deliver(event)).status).toBe(200);
    await processed(event.id);
  });

  describe("charge.refunded", () => {
    /** What the account's wallet took back of its refunded packs, and what was already spent. */
    const clawbacks = async (accountId: string) => {
      const [row] = await walletRows<{ clawed: number; shortfall: number }>(
        accountId,
        "SELECT coalesce(sum(clawed), 0) AS clawed, coalesce(sum(shortfall), 0) AS shortfall FROM clawbacks",
      );
      return row ?? { clawed: 0, shortfall: 0 };
    };
    /** A paid pack of 5 000 credits (US$20.00): its payment intent. */
    async function boughtPack(user: Awaited<ReturnType<typeof registerUser>>) {
      const { events } = await buyPack(as(user));
      await deliverInOrder(events);
      const paymentIntent = events[0]?.data.object.payment_intent;
      if (!paymentIntent) throw new Error("no payment intent");
      return paymentIntent;
    }
    const refund = async (paymentIntent: string, amount: number) =>
      (await sim(`payment_intents/${paymentIntent}/refund`, { amount })).events;

    it("takes back a pack's credits in proportion to what was refunded, once, in any order", async () => {
      const user = await registerUser();
      const paymentIntent = await boughtPack(user);
      const [half] = await refund(paymentIntent, 1_000);
      const [full] = await refund(paymentIntent, 1_000);
      if (!half || !full) throw new Error("no refund events");
      await deliverInOrder([half, half, full, half]);
      expect(await purchased(user.user.id)).toBe(0);
      expect(await clawbacks(user.user.id)).toEqual({ clawed: 5_000_000, shortfall: 0 });
    });

    it("never goes below zero: credits already spent are recorded as the shortfall", async () => {
      const user = await registerUser();
      const paymentIntent = await boughtPack(user);
      expect(await spendCredits(user.user.id, 4_000_000, `ai:${paymentIntent}`)).toBe(4_000_000);
      await deliverInOrder(await refund(paymentIntent, 2_000));
      expect(await purchased(user.user.id)).toBe(0);
      expect(await clawbacks(user.user.id)).toEqual({ clawed: 1_000_000, shortfall: 4_000_000 });
    });
  });
});

describe("POST /v1/admin/billing/events/:eventId/replay", () => {
  it("processes a stored event again for a platform admin, without applying its effect twice", async () => {
    const admin = await platformAdmin();
    const user = await registerUser();
    const {
      events: [event],
    } = await buyPack(as(user));
    if (!event) throw new Error("no checkout event");
    await deliverInOrder([event]);
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
