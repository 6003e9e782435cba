import type { Config } from "../../../env";
import type { Logger } from "../../../platform/logger";
import { circuitSettingsOf, withFallbacks } from "../fallbacks";
import { costOf, estimateInputTokens } from "../pricing";
import type { ChatRequest } from "../providers/types";
import type { Model } from "../registry";
import { firstPart, wholeAnswer } from "./first-part";

/**
 * A whole chat answer for Stratus's own modules (translation): the model's deployments in
 * order, with the gateway's retries, fallbacks and timeouts. No credits are held here and no
 * usage row is written: the calling module holds the most the call can cost (see `budgetOf`)
 * and settles `cost` within its own reservation, so one request never holds twice.
 */
export async function answerOnce(
  config: Config,
  deployments: readonly Model[],
  request: Omit<ChatRequest, "model">,
  context: { logger: Logger; signal: AbortSignal; accountId: string },
): Promise<{ model: Model; text: string; inputTokens: number; outputTokens: number; cost: number }> {
  const circuit = circuitSettingsOf(config);
  const signal = AbortSignal.any([context.signal, AbortSignal.timeout(config.AI_TOTAL_TIMEOUT_MS)]);
  const fallbacks = { logger: context.logger, circuit, accountId: context.accountId };
  return withFallbacks(deployments, signal, fallbacks, async (attempt) => {
    const answer = await wholeAnswer(await firstPart(config, attempt, request));
    const inputTokens = answer.usage?.inputTokens ?? estimateInputTokens(request);
    const outputTokens = answer.usage?.outputTokens ?? answer.countedOutputTokens();
    return {
      model: attempt.model,
      text: answer.choices[0]?.text ?? "",
      inputTokens,
      outputTokens,
      cost: costOf(attempt.model.prices, inputTokens, outputTokens),
    };
  });
}
