import { clock } from "../../platform/clock";
import { port } from "../../platform/port";
import { effectivePlan, publicPlan } from "./service";

/**
 * Quotas: what each plan allows per period, and the period. The counters themselves are exact
 * per account, in billing's wallet (taken with the credits of the work they count). Translated
 * characters reset each calendar month (UTC); storage is a level, not a flow, so its period
 * never ends (its start is 0). The limit is the account's effective plan's.
 */

const METRICS = {
  translated_characters: { monthly: true, limitOf: (plan) => plan.translatedCharactersPerMonth },
  // The level of stored bytes is files' own (exact in D1, next to the file rows it counts).
  storage_bytes: { monthly: false, limitOf: (plan) => plan.storageQuotaBytes, level: true },
} as const satisfies Record<
  string,
  { monthly: boolean; limitOf: (plan: Awaited<ReturnType<typeof effectivePlan>>) => number; level?: true }
>;
export type QuotaMetric = keyof typeof METRICS;
type Metric = QuotaMetric;
const COUNTED = Object.keys(METRICS) as Metric[];

/** The period a metric counts in at `now`: the month's first instant, or 0 for levels. */
export function periodOf(metric: Metric, now: number = clock.now()) {
  if (!METRICS[metric].monthly) return { start: 0, resetsAt: null };
  const date = new Date(now);
  return {
    start: Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), 1),
    resetsAt: Date.UTC(date.getUTCFullYear(), date.getUTCMonth() + 1, 1),
  };
}

/** What a quota allows an account in its current period. */
export async function quotaTermsOf(env: Env, accountId: string, metric: Metric) {
  const plan = await effectivePlan(env, accountId);
  const { start, resetsAt } = periodOf(metric);
  return { limit: METRICS[metric].limitOf(plan), periodStart: start, resetsAt };
}

/** How much of each metric an account used in a period: the counters are billing's (its wallet), through this port. */
export type QuotaUsage = (
  env: Env,
  accountId: string,
  periods: { metric: Metric; periodStart: number }[],
) => Promise<number[]>;
export const quotaUsagePort = port<QuotaUsage>("plans: the usage counters of an account");

/** How many bytes an account stores: files' answer, through this port. */
export const storageLevelPort = port<(env: Env, accountId: string) => Promise<number>>(
  "plans: the bytes an account stores",
);

/** The account's plan, its limits and the usage of each metric in its current period. */
export async function limitsOf(env: Env, accountId: string) {
  const plan = await effectivePlan(env, accountId);
  const counted = COUNTED.filter((metric) => !("level" in METRICS[metric])).map((metric) => ({
    metric,
    ...periodOf(metric),
  }));
  const [used, stored] = await Promise.all([
    quotaUsagePort.get()(
      env,
      accountId,
      counted.map(({ metric, start }) => ({ metric, periodStart: start })),
    ),
    storageLevelPort.get()(env, accountId),
  ]);
  const quotas = [
    ...counted.map(({ metric, resetsAt }, index) => ({
      metric,
      used: used[index] ?? 0,
      limit: METRICS[metric].limitOf(plan),
      resetsAt: resetsAt === null ? null : clock.iso(resetsAt),
    })),
    { metric: "storage_bytes" as const, used: stored, limit: plan.storageQuotaBytes, resetsAt: null },
  ];
  return { accountId, plan: publicPlan(plan), quotas };
}
