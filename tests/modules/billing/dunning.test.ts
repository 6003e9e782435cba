import { env } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import { downgradeAfterGrace } from "../../../src/modules/billing/dunning/downgrade";
import { subscriptionOf as stateOf } from "../../../src/modules/billing/subscriptions/service";
import { clock, testClock } from "../../../src/platform/clock";
import { createLogger } from "../../../src/platform/logger";
import { as, registerUser } from "../../helpers/identity";
import { runtimeOf } from "../../helpers/runtime";
import { deliverAll, type StripeEvent, sim, subscribe, subscriptionOf } from "../../helpers/stripe";

afterEach(() => testClock.reset());
// Each test waits on the queue a few times (its batches wait up to a second).
vi.setConfig({ testTimeout: 30_000 });

const DAY = 86_400_000;
const logger = createLogger("error");

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
    await downgradeAfterGrace(runtimeOf(env, logger), clock.now());
    expect((await stateOf(env, user.user.id)).plan).toBe("pro");
    testClock.advance(7 * DAY + 1);
    expect(await downgradeAfterGrace(runtimeOf(env, logger), clock.now())).toBeGreaterThanOrEqual(1);
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
    await downgradeAfterGrace(runtimeOf(env, logger), clock.now());
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
    await downgradeAfterGrace(runtimeOf(env, logger), clock.now());
    expect(await stateOf(env, user.user.id)).toMatchObject({
      plan: "pro",
      subscription: { status: "active", downgradedAt: null },
    });
  });
});
