import type { RequestContext } from "../../../platform/context";
import type { Meter } from "../../billing/api";
import { circuitSettingsOf, withFallbacks } from "../fallbacks";
import { costOf, estimateInputTokens } from "../pricing";
import type { ChatRequest } from "../providers/types";
import type { Model } from "../registry";
import { firstPart, wholeAnswer } from "./first-part";

/**
 * A whole chat answer for Stratus's own modules (translation; documents and learning next):
 * the model's deployments in order, with the gateway's retries, fallbacks and timeouts, paid
 * within the caller's hold. No credits are held here and no usage row is written: the calling
 * module holds the most the call can cost (see `budgetOf`) with billing's `withHold`, and each
 * answer's cost goes on that hold's meter as it arrives, so one request never holds twice, and
 * an answer the caller then finds unusable is still paid for.
 */
export async function complete(
  ctx: Pick<RequestContext, "config" | "logger" | "account">,
  request: Omit<ChatRequest, "model">,
  options: { deployments: readonly Model[]; meter: Meter; signal: AbortSignal },
): Promise<{ model: Model; text: string; inputTokens: number; outputTokens: number; cost: number }> {
  const { config } = ctx;
  const signal = AbortSignal.any([options.signal, AbortSignal.timeout(config.AI_TOTAL_TIMEOUT_MS)]);
  const fallbacks = { logger: ctx.logger, circuit: circuitSettingsOf(config), accountId: ctx.account.id };
  return withFallbacks(options.deployments, signal, fallbacks, async (attempt) => {
    const answer = await wholeAnswer(await firstPart(config, attempt, request));
    const inputTokens = answer.usage?.inputTokens ?? estimateInputTokens(request);
    const outputTokens = answer.usage?.outputTokens ?? answer.countedOutputTokens();
    const cost = costOf(attempt.model.prices, inputTokens, outputTokens);
    options.meter.add(cost);
    return { model: attempt.model, text: answer.choices[0]?.text ?? "", inputTokens, outputTokens, cost };
  });
}
