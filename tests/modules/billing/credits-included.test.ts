import { env, runDurableObjectAlarm } from "cloudflare:test";
import OpenAI from "openai";
import { afterEach, describe, expect, it, vi } from "vitest";
import { clock, testClock } from "../../../src/platform/clock";
import { eventually, fund, openaiFor } from "../../helpers/ai";
import { as, registerUser } from "../../helpers/identity";
import { createOrg, verified } from "../../helpers/orgs";
import { balanceOf, deliverAll, included, PREMIUM_MONTHLY, PRO_MONTHLY, sim, subscribe } from "../../helpers/stripe";
import { drainWallet, spendCredits, walletStub } from "../../helpers/wallet";

afterEach(() => testClock.reset());
// Each test waits on the queue a few times (its batches wait up to a second).
vi.setConfig({ testTimeout: 30_000 });

const DAY = 86_400_000;
/** The free plan's included credits a month. */
const FREE_MONTHLY = 100_000;

/** The account's included-bucket movements as the D1 copy has them, in the wallet's order. */
async function includedLedgerOf(accountId: string) {
  await drainWallet(accountId);
  return (
    await env.DB.prepare(
      "SELECT reason, amount, reference FROM credit_ledger WHERE account_id = ? AND bucket = 'included' ORDER BY seq",
    )
      .bind(accountId)
      .all<{ reason: string; amount: number; reference: string }>()
  ).results;
}

/** The first instant of the next calendar month (UTC). */
const nextMonthStart = () => {
  const now = new Date(clock.now());
  return Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1);
};

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
    const grants = (await includedLedgerOf(user.user.id)).filter((row) => row.reason === "included");
    expect(grants).toHaveLength(2);
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
    const grants = (await includedLedgerOf(user.user.id)).filter((row) => row.reason === "included");
    expect(grants.at(-1)?.reference).toBe(`plan:${user.user.id}:${period.start * 1000}`);
    expect(await included(user.user.id)).toBe(PREMIUM_MONTHLY);
  });
});

describe("included credits, granted by the first spend of a period", () => {
  it("grants verified users without a subscription their plan's month once; unverified users and orgs get nothing", async () => {
    const verifiedUser = await verified();
    const unverified = await registerUser();
    const owner = await verified();
    const org = await createOrg(owner);
    const subscribed = await verified();
    await subscribe(as(subscribed), "premium");
    // Nothing wakes an account that does not spend.
    expect(await included(verifiedUser.user.id)).toBe(0);
    for (let spend = 1; spend <= 3; spend++) {
      expect(await spendCredits(verifiedUser.user.id, 1_000)).toBe(1_000);
      expect(await included(verifiedUser.user.id)).toBe(FREE_MONTHLY - spend * 1_000);
    }
    expect((await includedLedgerOf(verifiedUser.user.id)).filter((row) => row.reason === "included")).toHaveLength(1);
    for (const accountId of [unverified.user.id, org.id]) {
      await fund(accountId, 10_000);
      expect(await spendCredits(accountId, 1_000)).toBe(1_000);
      expect(await included(accountId)).toBe(0);
      expect(await balanceOf(accountId, "purchased")).toBe(9_000);
    }
    // A monthly subscription's credits come with its paid invoices, not with a spend.
    await spendCredits(subscribed.user.id, 1_000);
    expect(await included(subscribed.user.id)).toBe(PREMIUM_MONTHLY - 1_000);
  });

  it("lets a verified user's first chat completion of the month spend the credits it grants", async () => {
    const broke = await registerUser();
    const refused = await openaiFor(broke.tokens.accessToken)
      .chat.completions.create({ model: "gpt-4o-mini", messages: [{ role: "user", content: "Hello" }] })
      .catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(OpenAI.APIError);
    expect((refused as InstanceType<typeof OpenAI.APIError>).status).toBe(402);
    const user = await verified();
    const answer = await openaiFor(user.tokens.accessToken).chat.completions.create({
      model: "gpt-4o-mini",
      messages: [{ role: "user", content: "Hello" }],
    });
    const charged = (answer.usage as unknown as { cost_millicredits: number }).cost_millicredits;
    expect(charged).toBeGreaterThan(0);
    expect(
      await eventually(
        () => included(user.user.id),
        (left) => left === FREE_MONTHLY - charged,
      ),
    ).toBe(FREE_MONTHLY - charged);
    expect(await balanceOf(user.user.id, "purchased")).toBe(0);
  });

  it("grants the next calendar month at its first spend, expiring what the last one left", async () => {
    const user = await verified();
    await spendCredits(user.user.id, 1_000);
    testClock.advance(nextMonthStart() + DAY - clock.now());
    await spendCredits(user.user.id, 2_000);
    expect(await included(user.user.id)).toBe(FREE_MONTHLY - 2_000);
    expect((await includedLedgerOf(user.user.id)).map(({ reason, amount }) => ({ reason, amount }))).toEqual([
      { reason: "included", amount: FREE_MONTHLY },
      { reason: "spend", amount: -1_000 },
      { reason: "included_expired", amount: -(FREE_MONTHLY - 1_000) },
      { reason: "included", amount: FREE_MONTHLY },
      { reason: "spend", amount: -2_000 },
    ]);
  });

  it("grants a yearly plan month by month at each month's first spend; the alarm expires a month that ended", async () => {
    const user = await registerUser();
    await subscribe(as(user), "pro", "year");
    expect(await included(user.user.id)).toBe(PRO_MONTHLY);
    await spendCredits(user.user.id, 1_000);
    expect(await included(user.user.id)).toBe(PRO_MONTHLY - 1_000);
    testClock.advance(32 * DAY);
    expect(await runDurableObjectAlarm(walletStub(user.user.id))).toBe(true);
    expect(await included(user.user.id)).toBe(0);
    await spendCredits(user.user.id, 1_000);
    await spendCredits(user.user.id, 1_000);
    expect(await included(user.user.id)).toBe(PRO_MONTHLY - 2_000);
    expect((await includedLedgerOf(user.user.id)).map(({ reason }) => reason)).toEqual([
      "included",
      "spend",
      "included_expired",
      "included",
      "spend",
      "spend",
    ]);
  });

  it("expires a monthly period nobody renewed when the alarm runs past its end; a spend grants nothing", async () => {
    const user = await verified();
    await subscribe(as(user));
    await spendCredits(user.user.id, 5_000);
    testClock.advance(32 * DAY);
    expect(await runDurableObjectAlarm(walletStub(user.user.id))).toBe(true);
    expect(await included(user.user.id)).toBe(0);
    await fund(user.user.id, 10_000);
    await spendCredits(user.user.id, 1_000);
    expect(await included(user.user.id)).toBe(0);
    expect(await balanceOf(user.user.id, "purchased")).toBe(9_000);
    expect((await includedLedgerOf(user.user.id)).filter((row) => row.reason === "included_expired")).toEqual([
      expect.objectContaining({ amount: -(PRO_MONTHLY - 5_000) }),
    ]);
  });
});
