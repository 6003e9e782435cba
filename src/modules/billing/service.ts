import { eq } from "drizzle-orm";
import type { Actor } from "../../platform/context";
import { asStatement, database } from "../../platform/db";
import { AppError } from "../../platform/errors";
import { newId } from "../../platform/ids";
import { replayTask } from "../../platform/queue/maintenance";
import { accountExists, auditInsert } from "../identity/api";
import { creditsOf, grant } from "./ledger";
import { type CreditBucket, creditLedger } from "./tables";

/** A platform admin's correction of an account's credits, audited in the same batch. */
export async function adjustCredits(
  env: Env,
  actor: Actor,
  input: { accountId: string; amount: number; bucket: CreditBucket; reason: string },
) {
  if (!(await accountExists(env, input.accountId))) throw new AppError("not_found", "No such account.");
  const reference = `adjust:${newId("led")}`;
  const audit = auditInsert(env, {
    actorId: actor.userId,
    action: "admin.credits_adjusted",
    targetType: "account",
    targetId: input.accountId,
    details: { amount: input.amount, bucket: input.bucket, reason: input.reason, reference },
    requestId: actor.requestId,
  });
  try {
    await grant(
      env,
      { accountId: input.accountId, bucket: input.bucket, amount: input.amount, reason: "adjust", reference },
      [asStatement(env, audit)],
    );
  } catch (error) {
    if (error instanceof AppError && error.code === "insufficient_credits") {
      throw new AppError("conflict", `The ${input.bucket} balance would go below zero.`);
    }
    throw error;
  }
  const [entry] = await database(env).select().from(creditLedger).where(eq(creditLedger.reference, reference));
  if (!entry) throw new Error(`adjustment ${reference} is missing after its batch`);
  const { accountId: _account, ...shown } = entry;
  return {
    entry: { ...shown, createdAt: new Date(entry.createdAt).toISOString() },
    credits: await creditsOf(env, input.accountId),
  };
}

/** A platform admin's replay of a stored Stripe event, audited. */
export async function replayStripeEvent(env: Env, actor: Actor, eventId: string) {
  const replay = await replayTask(env, `stripe:${eventId}`);
  if (replay === "missing") throw new AppError("not_found", "No stored Stripe event has this id.");
  if (replay === "busy") throw new AppError("conflict", "This event is being processed right now; try again shortly.");
  await auditInsert(env, {
    actorId: actor.userId,
    action: "admin.billing_event_replayed",
    targetType: "stripe_event",
    targetId: eventId,
    requestId: actor.requestId,
  });
  return { eventId, taskId: replay.taskId, status: "received" as const };
}
