import { expect, inject } from "vitest";

/** The translation simulator in tests (simulators/translate.mjs): scripted scenarios and their calls. */

export type TranslateStep = {
  status?: number;
  delayMs?: number;
  error?: { message?: string };
  hostile?: "echo_headers" | "wrong_types" | "garbage";
};
export type TranslateCall = { provider: string; segments: string[]; target: string; format: string };

export const translateSimulator = inject("translateSimulatorUrl");

/** A scripted scenario of the translation simulator: its marker, and the calls that carried it. */
export async function translateScenario(steps: TranslateStep[] = [{ delayMs: 0 }]) {
  const id = crypto.randomUUID();
  const created = await fetch(`${translateSimulator}/__sim/scenarios/${id}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ steps }),
  });
  expect(created.status, await created.text()).toBe(200);
  return {
    marker: `[scenario:${id}]`,
    async calls(): Promise<TranslateCall[]> {
      return (
        (await (await fetch(`${translateSimulator}/__sim/scenarios/${id}/calls`)).json()) as { data: TranslateCall[] }
      ).data;
    },
  };
}
