import { env } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import {
  expireEndedGrants,
  grantMonthlyToUnsubscribed,
  grantYearlyMonths,
} from "../../../src/modules/billing/credits/included";
import { clock, testClock } from "../../../src/platform/clock";
import { countOf } from "../../helpers/db";
import { as, registerUser } from "../../helpers/identity";
import { verified } from "../../helpers/orgs";
import { deliverAll, included, PREMIUM_MONTHLY, PRO_MONTHLY, sim, subscribe } from "../../helpers/stripe";

afterEach(() => testClock.reset());
// Each test waits on the queue a few times (its batches wait up to a second).
vi.setConfig({ testTimeout: 30_000 });

const DAY = 86_400_000;

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
    expect(await countOf("SELECT count(*) AS n FROM included_credit_grants WHERE account_id = ?", user.user.id)).toBe(
      2,
    );
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
