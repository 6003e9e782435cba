import type { Actor } from "../../../platform/context";
import { AppError } from "../../../platform/errors";
import { newId } from "../../../platform/ids";
import { createLogger, describeError } from "../../../platform/logger";
import { accountExists, auditInsert } from "../../identity/api";
import { askWallet } from "../wallet/client";
import type { CreditBucket, GrantAnswer } from "../wallet/protocol";
import { creditsOf } from "./ledger";

/**
 * A platform admin's correction of an account's credits: applied by the wallet, then audited
 * (the audit names the wallet's ledger reference; an audit that fails to write is logged, never
 * answered as an error for an adjustment already made).
 */
export async function adjustCredits(
  env: Env,
  actor: Actor,
  input: { accountId: string; amount: number; bucket: CreditBucket; reason: string },
) {
  if (!(await accountExists(env, input.accountId))) throw new AppError("not_found", "No such account.");
  const reference = `adjust:${newId("led")}`;
  const answer = await askWallet<GrantAnswer>(env, input.accountId, (wallet) =>
    wallet.grant({
      accountId: input.accountId,
      bucket: input.bucket,
      amount: input.amount,
      reason: "adjust",
      reference,
    }),
  );
  if (!answer.ok) {
    if (answer.code === "insufficient_credits") {
      throw new AppError("conflict", `The ${input.bucket} balance would go below zero.`);
    }
    throw new AppError(answer.code, answer.detail);
  }
  const entry = answer.entry;
  if (!entry) throw new Error(`adjustment ${reference} made no ledger entry`);
  // Made: a failure to audit must not answer an error a client would retry into a second adjustment.
  await auditInsert(env, {
    actorId: actor.userId,
    action: "admin.credits_adjusted",
    targetType: "account",
    targetId: input.accountId,
    details: { amount: input.amount, bucket: input.bucket, reason: input.reason, reference },
    requestId: actor.requestId,
  }).catch((error: unknown) => {
    createLogger("error").error("credit adjustment made but not audited", { reference, ...describeError(error) });
  });
  return {
    entry: { ...entry, createdAt: new Date(entry.createdAt).toISOString() },
    credits: await creditsOf(env, input.accountId),
  };
}
