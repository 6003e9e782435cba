import { and, eq, sql } from "drizzle-orm";
import { clock } from "../../platform/clock";
import { asStatement, type BatchStatement, database, isCheckViolation } from "../../platform/db";
import { AppError } from "../../platform/errors";
import { effectivePlan, publicPlan } from "./service";
import { quotaUsage } from "./tables";

/**
 * Quotas: usage counters changed only through `consume` and `refund`. Translated characters
 * reset each calendar month (UTC); storage is a level, not a flow, so its counter never
 * resets (its period start is 0). The limit is the account's effective plan's.
 */

const METRICS = {
  translated_characters: { monthly: true, limitOf: (plan) => plan.translatedCharactersPerMonth },
  storage_bytes: { monthly: false, limitOf: (plan) => plan.storageQuotaBytes },
} as const satisfies Record<
  string,
  { monthly: boolean; limitOf: (plan: Awaited<ReturnType<typeof effectivePlan>>) => number }
>;
type Metric = keyof typeof METRICS;

/** The period a metric counts in at `now`: the month's first instant, or 0 for levels. */
export function periodOf(metric: Metric, now: number = clock.now()) {
  if (!METRICS[metric].monthly) return { start: 0, resetsAt: null };
  const date = new Date(now);
  return {
    start: Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), 1),
    resetsAt: Date.UTC(date.getUTCFullYear(), date.getUTCMonth() + 1, 1),
  };
}

type Consumption = { metric: Metric; periodStart: number; used: number; limit: number; resetsAt: number | null };

/**
 * Adds `amount` to the account's counter, or 429 `quota_exceeded` if it would pass the limit;
 * `alongside` statements (the caller's own counters) commit in the same batch, or not at all.
 */
export async function consume(
  env: Env,
  accountId: string,
  metric: Metric,
  amount: number,
  alongside: BatchStatement[] = [],
): Promise<Consumption> {
  if (!Number.isSafeInteger(amount) || amount <= 0)
    throw new Error(`consume needs a positive integer amount, not ${amount}`);
  const limit = METRICS[metric].limitOf(await effectivePlan(env, accountId));
  const { start, resetsAt } = periodOf(metric);
  const db = database(env);
  try {
    const [counted] = await env.DB.batch<{ used: number }>([
      asStatement(
        env,
        db
          .insert(quotaUsage)
          .values({ accountId, metric, periodStart: start, used: amount, limitValue: limit })
          .onConflictDoUpdate({
            target: [quotaUsage.accountId, quotaUsage.metric, quotaUsage.periodStart],
            set: { used: sql`${quotaUsage.used} + ${amount}`, limitValue: limit },
          })
          .returning({ used: quotaUsage.used }),
      ),
      ...alongside,
    ]);
    return { metric, periodStart: start, used: counted?.results[0]?.used ?? amount, limit, resetsAt };
  } catch (error) {
    if (!isCheckViolation(error)) throw error;
    const used = await usageOf(env, accountId, metric, start);
    const retryAfter = resetsAt === null ? null : Math.max(1, Math.ceil((resetsAt - clock.now()) / 1000));
    throw new AppError(
      "quota_exceeded",
      `This would use ${amount} of the ${Math.max(0, limit - used)} ${metric.replaceAll("_", " ")} left this period.`,
      {
        headers: retryAfter === null ? {} : { "Retry-After": String(retryAfter) },
        extensions: { metric, limit, used, resetsAt: resetsAt === null ? null : clock.iso(resetsAt) },
      },
    );
  }
}

/** Gives back what a failed operation consumed, in the period it consumed it; never below zero. */
export async function refund(
  env: Env,
  accountId: string,
  consumption: Pick<Consumption, "metric" | "periodStart">,
  amount: number,
) {
  await database(env)
    .update(quotaUsage)
    .set({ used: sql`max(0, ${quotaUsage.used} - ${amount})` })
    .where(
      and(
        eq(quotaUsage.accountId, accountId),
        eq(quotaUsage.metric, consumption.metric),
        eq(quotaUsage.periodStart, consumption.periodStart),
      ),
    );
}

async function usageOf(env: Env, accountId: string, metric: Metric, periodStart: number): Promise<number> {
  const [row] = await database(env)
    .select({ used: quotaUsage.used })
    .from(quotaUsage)
    .where(
      and(eq(quotaUsage.accountId, accountId), eq(quotaUsage.metric, metric), eq(quotaUsage.periodStart, periodStart)),
    );
  return row?.used ?? 0;
}

/** The account's plan, its limits and the usage of each metric in its current period. */
export async function limitsOf(env: Env, accountId: string) {
  const plan = await effectivePlan(env, accountId);
  const quotas = await Promise.all(
    (Object.keys(METRICS) as Metric[]).map(async (metric) => {
      const { start, resetsAt } = periodOf(metric);
      return {
        metric,
        used: await usageOf(env, accountId, metric, start),
        limit: METRICS[metric].limitOf(plan),
        resetsAt: resetsAt === null ? null : clock.iso(resetsAt),
      };
    }),
  );
  return { accountId, plan: publicPlan(plan), quotas };
}
