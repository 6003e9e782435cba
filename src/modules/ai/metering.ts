import type { Context } from "hono";
import { requestContextOf } from "../../middleware/auth";
import { clock } from "../../platform/clock";
import type { AppEnv, RequestContext } from "../../platform/context";
import { newId } from "../../platform/ids";
import { payerOf, type Settlement, withHold } from "../billing/api";
import { circuitSettingsOf, withFallbacks, within } from "./fallbacks";
import type { Model } from "./registry";
import { type UsageRow, usageRecord } from "./usage";

/**
 * An AI call's payer and its usage row. Credits go through billing's `withHold` (hold the most
 * the call can cost, settle what it cost after the answer, in `waitUntil`); the usage row rides
 * with the settlement to the wallet, which ships it, charged, to this module's sink in D1; it is
 * shipped charged 0 when settling never goes through (the hold then expires: that answer goes
 * unpaid, and the row says so).
 */

/** A request that pays for AI calls: the server's unique id of this call keys its hold and usage row. */
export type AiCaller = RequestContext & { callId: string };

/** Who pays for an AI request, and how its settlement runs after the answer. */
export const callerOf = (c: Context<AppEnv>): AiCaller => ({ ...requestContextOf(c), callId: newId("use") });

type Measured = Omit<UsageRow, "id" | "requestId" | "accountId" | "userId" | "apiKeyId" | "createdAt" | "charged">;

/** The call's usage row, charged what its settlement charged: what `withHold` records. */
export function usageSettlement(caller: AiCaller, usage: Measured): Settlement {
  return {
    cost: usage.cost,
    records: [
      usageRecord({
        ...usage,
        id: caller.callId,
        requestId: caller.requestId,
        accountId: caller.account.id,
        userId: caller.principal.id,
        apiKeyId: caller.principal.keyId ?? null,
        createdAt: clock.now(),
      }),
    ],
  };
}

/** The reference of a call's hold: its server id, which no client chooses. */
export const holdReferenceOf = (caller: AiCaller) => `ai:${caller.callId}`;

/**
 * One priced AI call, for endpoints whose cost follows from the result (embeddings, audio,
 * images): hold the most it can cost on any of its deployments (nothing when free), try them
 * with retries and fallbacks (each attempt at most `timeoutMs` until it answers), then charge
 * what the answer cost; a call that failed is charged nothing and recorded as failed.
 */
export async function pricedCall<R>(
  caller: AiCaller,
  call: {
    endpoint: string;
    requestedModel: string;
    /** The top-level fields of the client's request (an upstream refusal may name one back). */
    sentFields: readonly string[];
    deployments: readonly Model[];
    /** The most the call can cost on a deployment, in unrounded millicredits. */
    ceiling: (model: Model) => number;
    timeoutMs: number;
    run: (model: Model, signal: AbortSignal) => Promise<R>;
    /** What the result cost; `estimated` when the provider's counts were missing or not believed. */
    measure: (model: Model, result: R) => { cost: number; inputTokens?: number; estimated?: boolean };
  },
  clientSignal: AbortSignal,
): Promise<{ model: Model; result: R; charged: number }> {
  // When the work began, once held: the latency of the usage row, failed or not.
  let started = Date.now();
  const base = {
    endpoint: call.endpoint,
    requestedModel: call.requestedModel,
    outputTokens: 0,
    timeToFirstTokenMs: null,
  };
  const context = {
    logger: caller.logger,
    circuit: circuitSettingsOf(caller.config),
    accountId: caller.account.id,
    sentFields: call.sentFields,
  };
  const { result, charged } = await withHold(caller, {
    payer: payerOf(caller),
    reference: holdReferenceOf(caller),
    ceiling: Math.max(...call.deployments.map(call.ceiling)),
    run: () => {
      started = Date.now();
      return withFallbacks(call.deployments, clientSignal, context, async (attempt) => ({
        model: attempt.model,
        result: await within(call.timeoutMs, attempt, (signal) => call.run(attempt.model, signal)),
      }));
    },
    measure: ({ model, result }) => {
      const { cost, inputTokens = 0, estimated = false } = call.measure(model, result);
      return usageSettlement(caller, {
        ...base,
        model: model.id,
        provider: model.provider,
        inputTokens,
        cost,
        latencyMs: Date.now() - started,
        status: "completed",
        usageSource: estimated ? "estimated" : "provider",
      });
    },
    failed: () =>
      usageSettlement(caller, {
        ...base,
        model: null,
        provider: null,
        inputTokens: 0,
        cost: 0,
        latencyMs: Date.now() - started,
        status: "failed",
        usageSource: null,
      }),
  });
  return { ...result, charged: charged ?? 0 };
}
