import { asc, eq } from "drizzle-orm";
import { clock } from "../../platform/clock";
import type { Actor } from "../../platform/context";
import { database } from "../../platform/db";
import { AppError } from "../../platform/errors";
import { port } from "../../platform/port";
import { TtlCache } from "../../platform/ttl-cache";
import { accountExists, auditInsert, auditInsertIfChanged } from "../identity/api";
import { planOverrides, plans } from "./tables";

/**
 * Plans and each account's effective plan: an admin override if one exists, else the plan
 * its subscription gives (billing registers that resolver), else `free`. Read from D1
 * through a cache of at most 30 s, so a plan change applies everywhere within that bound and
 * at once in the isolate that made it.
 */

const DEFAULT_PLAN_ID = "free";
const PLAN_CACHE_MS = 30_000;

type PlanRow = typeof plans.$inferSelect;

export function publicPlan(plan: PlanRow) {
  const { rank: _rank, ...entitlements } = plan;
  return entitlements;
}

export async function listPlans(env: Env) {
  const rows = await database(env).select().from(plans).orderBy(asc(plans.rank));
  return { items: rows.map(publicPlan) };
}

/** Billing's answer to "which plan does this account's live subscription give?", or null. */
export type SubscriptionPlanResolver = (env: Env, accountId: string) => Promise<string | null>;
export const subscriptionPlanPort = port<SubscriptionPlanResolver>("plans: the subscription plan of an account");

const effectiveCache = new TtlCache<PlanRow>(PLAN_CACHE_MS);

/** A plan by id, read fresh (billing grants its included credits). */
export async function planById(env: Env, planId: string): Promise<PlanRow | undefined> {
  const [plan] = await database(env).select().from(plans).where(eq(plans.id, planId));
  return plan;
}

/** The plan of anonymous callers (limited by IP): the default plan. */
export function defaultPlan(env: Env): Promise<PlanRow> {
  return effectiveCache.getOrLoad("", async () => {
    const plan = await planById(env, DEFAULT_PLAN_ID);
    if (!plan) throw new Error(`the default plan "${DEFAULT_PLAN_ID}" is missing: are migrations applied?`);
    return plan;
  });
}

export function effectivePlan(env: Env, accountId: string): Promise<PlanRow> {
  return effectiveCache.getOrLoad(accountId, async () => {
    const [override] = await database(env)
      .select({ plan: plans })
      .from(planOverrides)
      .innerJoin(plans, eq(plans.id, planOverrides.planId))
      .where(eq(planOverrides.accountId, accountId));
    if (override) return override.plan;
    const subscribed = await subscriptionPlanPort.get()(env, accountId);
    return (subscribed && (await planById(env, subscribed))) || (await defaultPlan(env));
  });
}

/** Billing calls this when a subscription changes: this isolate sees the new plan at once. */
export function forgetEffectivePlan(accountId: string): void {
  effectiveCache.delete(accountId);
}

export async function setOverride(env: Env, actor: Actor, accountId: string, planId: string) {
  const plan = await planById(env, planId);
  if (!plan) {
    throw new AppError("validation_failed", `No plan "${planId}".`, {
      errors: [{ path: "body.planId", message: "unknown plan" }],
    });
  }
  if (!(await accountExists(env, accountId))) throw new AppError("not_found", "No such account.");
  const now = clock.now();
  const db = database(env);
  await db.batch([
    db
      .insert(planOverrides)
      .values({ accountId, planId, setBy: actor.userId, createdAt: now })
      .onConflictDoUpdate({ target: planOverrides.accountId, set: { planId, setBy: actor.userId, createdAt: now } }),
    auditInsert(env, {
      actorId: actor.userId,
      action: "admin.plan_override_set",
      targetType: "account",
      targetId: accountId,
      details: { planId },
      requestId: actor.requestId,
    }),
  ]);
  effectiveCache.delete(accountId);
  return { accountId, planId, setBy: actor.userId, createdAt: clock.iso(now) };
}

export async function deleteOverride(env: Env, actor: Actor, accountId: string) {
  const db = database(env);
  const [removed] = await db.batch([
    db.delete(planOverrides).where(eq(planOverrides.accountId, accountId)).returning(),
    auditInsertIfChanged(env, {
      actorId: actor.userId,
      action: "admin.plan_override_deleted",
      targetType: "account",
      targetId: accountId,
      requestId: actor.requestId,
    }),
  ]);
  effectiveCache.delete(accountId);
  if (removed.length === 0) throw new AppError("not_found", "This account has no plan override.");
}

/** Limits of a plan that an action may hit, by the name clients see in `403 plan_limit`. */
const LIMIT_NAMES = { maxOrgMembers: "max_org_members" } as const;
type PlanLimit = keyof typeof LIMIT_NAMES;

/** A limit of the account's plan now. */
export async function planLimitOf(env: Env, accountId: string, limit: PlanLimit) {
  const plan = await effectivePlan(env, accountId);
  return { value: plan[limit], planId: plan.id, rank: plan.rank };
}

/**
 * `403 plan_limit`, naming the limit, its value on the account's plan and the cheapest plan that
 * allows more (null when none does): the sibling of `plan_required` for features a plan lacks.
 */
export async function planLimitError(
  env: Env,
  limit: PlanLimit,
  current: Awaited<ReturnType<typeof planLimitOf>>,
  detail: string,
): Promise<AppError> {
  const raising = (await database(env).select().from(plans).orderBy(asc(plans.rank))).find(
    (plan) => plan.rank > current.rank && plan[limit] > current.value,
  );
  const upgrade = raising ? ` The ${raising.name} plan allows ${raising[limit]}.` : "";
  return new AppError("plan_limit", `${detail}${upgrade}`, {
    extensions: {
      limit: LIMIT_NAMES[limit],
      allowed: current.value,
      plan: current.planId,
      upgradeTo: raising?.id ?? null,
    },
  });
}
