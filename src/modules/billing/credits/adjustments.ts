import { eq } from "drizzle-orm";
import type { Actor } from "../../../platform/context";
import { asStatement, database } from "../../../platform/db";
import { AppError } from "../../../platform/errors";
import { newId } from "../../../platform/ids";
import { accountExists, auditInsert } from "../../identity/api";
import { type CreditBucket, creditLedger } from "../tables";
import { creditsOf, grant } from "./ledger";

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
