import { env, SELF } from "cloudflare:test";
import OpenAI from "openai";
import { inject } from "vitest";
import { grant } from "../../src/modules/billing/credits/ledger";
import { randomClientIp } from "./client";
import { drainWallet, walletBalances } from "./wallet";

/**
 * The AI gateway in tests: the official `openai` client pointed at Stratus (through the
 * Worker's real fetch handler), and the LLM simulators' scenarios (simulators/llm-scripts.mjs).
 */

export function openaiFor(token: string, headers: Record<string, string> = {}): OpenAI {
  return new OpenAI({
    apiKey: token,
    baseURL: "https://stratus.test/v1",
    maxRetries: 0,
    defaultHeaders: { "cf-connecting-ip": randomClientIp(), ...headers },
    fetch: (url, init) => SELF.fetch(url as string, init as RequestInit),
  });
}

export type Step = {
  status?: number;
  error?: { type?: string; message?: string; code?: string; param?: string };
  hostile?: "echo_headers" | "wrong_types" | "huge_index" | "garbage" | "huge" | "extras";
  headers?: Record<string, string>;
  delayMs?: number;
  tokenDelayMs?: number;
  reply?: string;
  toolCall?: { name: string; arguments: Record<string, unknown> };
  breakAfterChunks?: number;
  /** Counts to report, of any JSON value (hostile counts included); `seconds` for transcriptions. */
  usage?: { prompt?: unknown; completion?: unknown; seconds?: unknown };
};

export type RecordedRequest = {
  path: string;
  body: Record<string, unknown>;
  aborted: boolean;
  chunksSent: number;
  endedAt: number | null;
};

/**
 * A scripted scenario on a simulator: put `scenario.marker` in a message to follow its steps.
 * Simulators read the first marker only: to script both, give both scenarios the same `id`.
 */
export async function scenario(provider: "openai" | "anthropic", steps: Step[] = [{}], id = crypto.randomUUID()) {
  const base = inject(provider === "openai" ? "openaiSimulatorUrl" : "anthropicSimulatorUrl");
  const created = await fetch(`${base}/__sim/scenarios/${id}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ steps }),
  });
  if (!created.ok) throw new Error(`scenario: ${created.status} ${await created.text()}`);
  return {
    marker: `[scenario:${id}]`,
    async requests(): Promise<RecordedRequest[]> {
      const answer = await fetch(`${base}/__sim/scenarios/${id}/requests`);
      return ((await answer.json()) as { data: RecordedRequest[] }).data;
    },
  };
}

export const fund = (accountId: string, millicredits: number) =>
  grant(env, {
    accountId,
    bucket: "purchased",
    amount: millicredits,
    reason: "test",
    reference: `test:${crypto.randomUUID()}`,
  });

export const purchasedBalance = async (accountId: string) => (await walletBalances(accountId)).balances.purchased;

/** The account's usage rows, once its wallet's outbox has reached the D1 copy. */
export const usageRowsOf = async (accountId: string) => {
  await drainWallet(accountId);
  return (
    await env.DB.prepare("SELECT * FROM ai_usage WHERE account_id = ? ORDER BY created_at").bind(accountId).all<{
      status: string;
      charged: number;
      input_tokens: number;
      output_tokens: number;
      model: string;
      cost: number;
      usage_source: "provider" | "estimated" | null;
    }>()
  ).results;
};

/** Waits for the usage rows that `waitUntil` writes after a stream. */
export async function eventually<T>(read: () => Promise<T>, done: (value: T) => boolean): Promise<T> {
  for (let i = 0; i < 100; i++) {
    const value = await read();
    if (done(value)) return value;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return read();
}
