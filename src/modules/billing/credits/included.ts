import { and, eq, gt, inArray, isNull, lte, ne, notExists, sql } from "drizzle-orm";
import { clock } from "../../../platform/clock";
import { type BatchStatement, database, isUniqueViolation } from "../../../platform/db";
import { verifiedUserIds } from "../../identity/api";
import { effectivePlan, planById } from "../../plans/api";
import { entitles, liveSubscriptionOf } from "../subscriptions/store";
import { billingSubscriptions, includedCreditGrants, includedCreditSweeps } from "../tables";
import { literal, movement } from "./ledger";

/**
 * A plan's included credits: granted once per period as `plan:<account>:<period start>`, spent
 * before purchased credits, and gone at the period's end. A new period's grant expires what
 * is left of the previous one in the same batch; the cron expires a period nobody renewed.
 * Paid plans are granted on their paid invoices (`stripe/events.ts`), yearly ones month by month
 * by the cron; accounts without a subscription (verified users) get their plan's monthly
 * credits from the cron, per calendar month.
 */

type IncludedPeriod = { accountId: string; planId: string; periodStart: number; periodEnd: number };

const includedReference = (accountId: string, periodStart: number) => `plan:${accountId}:${periodStart}`;

/**
 * What is left in the included bucket leaves it: the amount is stored on the grant row first
 * (a ledger amount must not read the balance it changes). For a grant already expired, the
 * UPDATE matches nothing and the stored amount is reused: its ledger row collides on
 * `expire:<grant>` and the batch fails (or, if that amount was 0, nothing changes).
 */
function expiry(env: Env, accountId: string, grantReference: string, now: number): BatchStatement[] {
  return [
    env.DB.prepare(
      `UPDATE included_credit_grants SET expired_at = ?, expired = coalesce(
         (SELECT balance FROM credit_balances WHERE account_id = ? AND bucket = 'included'), 0)
       WHERE reference = ? AND expired_at IS NULL`,
    ).bind(now, accountId, grantReference),
    ...movement(env, {
      accountId,
      bucket: "included",
      amount: { sql: "-(SELECT expired FROM included_credit_grants WHERE reference = ?)", params: [grantReference] },
      reason: "included_expired",
      reference: `expire:${grantReference}`,
      now,
    }),
  ];
}

const grantExists = async (env: Env, reference: string) =>
  (
    await database(env)
      .select({ reference: includedCreditGrants.reference })
      .from(includedCreditGrants)
      .where(eq(includedCreditGrants.reference, reference))
  ).length > 0;

/**
 * Grants a period's included credits once, expiring the account's earlier unexpired grants in
 * the same batch. False when granted before, when the plan includes none, and when it comes
 * too late: its period is over, or a later period was granted (a replayed or late invoice must
 * not take the current period's credits away).
 */
export async function grantIncluded(env: Env, period: IncludedPeriod): Promise<boolean> {
  const plan = await planById(env, period.planId);
  const millicredits = plan?.monthlyIncludedMillicredits ?? 0;
  if (millicredits <= 0 || period.periodEnd <= clock.now()) return false;
  const reference = includedReference(period.accountId, period.periodStart);
  if (await grantExists(env, reference)) return false;
  const db = database(env);
  for (let attempt = 0; attempt < 3; attempt++) {
    const now = clock.now();
    const others = await db
      .select({ reference: includedCreditGrants.reference, periodStart: includedCreditGrants.periodStart })
      .from(includedCreditGrants)
      .where(
        and(
          eq(includedCreditGrants.accountId, period.accountId),
          isNull(includedCreditGrants.expiredAt),
          ne(includedCreditGrants.reference, reference),
        ),
      );
    if (others.some((grant) => grant.periodStart > period.periodStart)) return false;
    try {
      await env.DB.batch([
        ...others.flatMap((grant) => expiry(env, period.accountId, grant.reference, now)),
        env.DB.prepare(
          `INSERT INTO included_credit_grants (reference, account_id, plan_id, period_start, period_end, millicredits, created_at)
           VALUES (?, ?, ?, ?, ?, ?, ?)`,
        ).bind(reference, period.accountId, period.planId, period.periodStart, period.periodEnd, millicredits, now),
        ...movement(env, {
          accountId: period.accountId,
          bucket: "included",
          amount: literal(millicredits),
          reason: "included",
          reference,
          now,
        }),
      ]);
      return true;
    } catch (error) {
      if (!isUniqueViolation(error)) throw error;
      // Granted before, or an earlier grant was expired meanwhile (then try again).
      if (await grantExists(env, reference)) return false;
    }
  }
  throw new Error(`included credits ${reference} kept racing; the caller retries`);
}

/** Expires grants whose period ended without a next one. */
export async function expireEndedGrants(env: Env, now: number, limit = 100): Promise<number> {
  const ended = await database(env)
    .select({ reference: includedCreditGrants.reference, accountId: includedCreditGrants.accountId })
    .from(includedCreditGrants)
    .where(and(isNull(includedCreditGrants.expiredAt), lte(includedCreditGrants.periodEnd, now)))
    .limit(limit);
  let expired = 0;
  for (const grant of ended) {
    try {
      await env.DB.batch(expiry(env, grant.accountId, grant.reference, now));
      expired += 1;
    } catch (error) {
      if (!isUniqueViolation(error)) throw error;
    }
  }
  return expired;
}

/** `epochMs` plus whole months, UTC, the day clamped to the month's last (Jan 31 → Feb 28). */
function addMonths(epochMs: number, months: number): number {
  const date = new Date(epochMs);
  const year = date.getUTCFullYear();
  const month = date.getUTCMonth() + months;
  const lastDay = new Date(Date.UTC(year, month + 1, 0)).getUTCDate();
  date.setUTCFullYear(year, month, Math.min(date.getUTCDate(), lastDay));
  return date.getTime();
}

/** The month of a yearly period that `now` falls in, as an included-credit period. */
export function monthOfYearlyPeriod(periodStart: number, periodEnd: number, now: number) {
  let month = 0;
  while (month < 12 && addMonths(periodStart, month + 1) <= now) month += 1;
  const start = addMonths(periodStart, month);
  return start < periodEnd
    ? { periodStart: start, periodEnd: Math.min(addMonths(periodStart, month + 1), periodEnd) }
    : null;
}

/**
 * Yearly subscriptions get their plan's credits each month of the year: those whose account
 * holds no grant covering now, a page per run (each costs a few queries; the cron shares the
 * invocation's query budget).
 */
export async function grantYearlyMonths(env: Env, now: number, limit = 20): Promise<number> {
  const yearly = await database(env)
    .select()
    .from(billingSubscriptions)
    .where(
      and(
        eq(billingSubscriptions.interval, "year"),
        inArray(billingSubscriptions.status, ["active", "trialing", "past_due"]),
        lte(billingSubscriptions.currentPeriodStart, now),
        notExists(
          database(env)
            .select({ one: sql`1` })
            .from(includedCreditGrants)
            .where(
              and(
                eq(includedCreditGrants.accountId, billingSubscriptions.accountId),
                lte(includedCreditGrants.periodStart, now),
                gt(includedCreditGrants.periodEnd, now),
              ),
            ),
        ),
      ),
    )
    .limit(limit);
  let granted = 0;
  for (const subscription of yearly) {
    const month = monthOfYearlyPeriod(subscription.currentPeriodStart, subscription.currentPeriodEnd, now);
    if (!subscription.planId || !month || !entitles(subscription, now)) continue;
    const period = { accountId: subscription.accountId, planId: subscription.planId, ...month };
    if (await grantIncluded(env, period)) granted += 1;
  }
  return granted;
}

const monthStart = (now: number) => {
  const date = new Date(now);
  return Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), 1);
};

/**
 * Verified users without a subscription get their plan's monthly credits (the free plan's,
 * or an admin override's), a page of users per run after the month's cursor: users who sign
 * up later in the month are reached by later runs.
 */
export async function grantMonthlyToUnsubscribed(env: Env, now: number, pageSize = 20): Promise<number> {
  const periodStart = monthStart(now);
  const db = database(env);
  await db.insert(includedCreditSweeps).values({ periodStart, cursor: "" }).onConflictDoNothing();
  const [sweep] = await db.select().from(includedCreditSweeps).where(eq(includedCreditSweeps.periodStart, periodStart));
  const userIds = await verifiedUserIds(env, sweep?.cursor ?? "", pageSize);
  let granted = 0;
  for (const accountId of userIds) {
    if (await liveSubscriptionOf(env, accountId)) continue;
    const plan = await effectivePlan(env, accountId);
    const period = { accountId, planId: plan.id, periodStart, periodEnd: addMonths(periodStart, 1) };
    if (await grantIncluded(env, period)) granted += 1;
  }
  const last = userIds.at(-1);
  if (last) {
    await db
      .update(includedCreditSweeps)
      .set({ cursor: last })
      .where(eq(includedCreditSweeps.periodStart, periodStart));
  }
  return granted;
}
