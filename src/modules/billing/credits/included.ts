import { clock } from "../../../platform/clock";
import { TtlCache } from "../../../platform/ttl-cache";
import { isVerifiedUser } from "../../identity/api";
import { effectivePlan, planById } from "../../plans/api";
import { entitles, liveSubscriptionOf } from "../subscriptions/store";
import { askWallet } from "../wallet/client";
import type { IncludedPeriod } from "../wallet/protocol";

/**
 * A plan's included credits: granted once per period as `plan:<account>:<period start>` by the
 * account's wallet, spent before purchased credits, gone at the period's end (the wallet's
 * alarm, or the next period's grant, expires the rest). Monthly subscriptions are granted on
 * their paid invoices (`stripe/events.ts`). The rest is granted lazily, by the first spend of a
 * period, with what `includedPeriodOf` says: a yearly subscription's month (its year is paid),
 * or, for verified users without a subscription, the calendar month of their plan. No cron
 * wakes every account.
 */

/** Grants a period's included credits of `planId` once (see `AccountWallet.grantIncluded`). */
export async function grantIncluded(
  env: Env,
  period: { accountId: string; planId: string; periodStart: number; periodEnd: number },
): Promise<boolean> {
  const plan = await planById(env, period.planId);
  const amount = plan?.monthlyIncludedMillicredits ?? 0;
  if (amount <= 0) return false;
  const { accountId, ...rest } = period;
  return askWallet(env, accountId, (wallet) => wallet.grantIncluded(accountId, { ...rest, amount }));
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

/** What decides an account's lazy grant; read through a short cache, as plans are. */
type Terms =
  | { kind: "none" }
  | { kind: "calendar"; planId: string; amount: number }
  | {
      kind: "yearly";
      planId: string;
      amount: number;
      subscription: NonNullable<Awaited<ReturnType<typeof liveSubscriptionOf>>>;
    };

const TERMS_CACHE_MS = 30_000;
const termsCache = new TtlCache<Terms>(TERMS_CACHE_MS);

async function termsOf(env: Env, accountId: string): Promise<Terms> {
  const subscription = await liveSubscriptionOf(env, accountId);
  if (subscription) {
    if (subscription.interval !== "year" || !subscription.planId) return { kind: "none" };
    const plan = await planById(env, subscription.planId);
    return {
      kind: "yearly",
      planId: subscription.planId,
      amount: plan?.monthlyIncludedMillicredits ?? 0,
      subscription,
    };
  }
  if (!(await isVerifiedUser(env, accountId))) return { kind: "none" };
  const plan = await effectivePlan(env, accountId);
  return { kind: "calendar", planId: plan.id, amount: plan.monthlyIncludedMillicredits };
}

/** Billing calls this when a subscription changes: this isolate's next spend sees it at once. */
export const forgetIncludedTerms = (accountId: string) => termsCache.delete(accountId);

/** The included period a spend of `accountId` grants first if it never was, or null. */
export async function includedPeriodOf(env: Env, accountId: string): Promise<IncludedPeriod | null> {
  const terms = await termsCache.getOrLoad(accountId, () => termsOf(env, accountId));
  if (terms.kind === "none" || terms.amount <= 0) return null;
  const now = clock.now();
  if (terms.kind === "calendar") {
    const date = new Date(now);
    const periodStart = Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), 1);
    return { planId: terms.planId, amount: terms.amount, periodStart, periodEnd: addMonths(periodStart, 1) };
  }
  const { subscription } = terms;
  if (!entitles(subscription, now)) return null;
  const month = monthOfYearlyPeriod(subscription.currentPeriodStart, subscription.currentPeriodEnd, now);
  return month ? { planId: terms.planId, amount: terms.amount, ...month } : null;
}
