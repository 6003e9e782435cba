import { clock } from "../../platform/clock";
import { lastProcessedAt } from "../../platform/queue/tasks";
import { HEARTBEAT_EVERY_MS, heartbeatTask } from "./consumers";
import type { Check, QueuePulse } from "./schema";

const CHECK_TIMEOUT_MS = 2000;
/** Three missed heartbeats before the queue is reported as `warn`. */
const PULSE_STALE_MS = 3 * HEARTBEAT_EVERY_MS;

async function timed(probe: () => Promise<unknown>): Promise<Check> {
  const started = performance.now();
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    await Promise.race([
      probe(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${CHECK_TIMEOUT_MS} ms`)), CHECK_TIMEOUT_MS);
      }),
    ]);
    return { status: "pass", latencyMs: Math.round(performance.now() - started) };
  } catch (error) {
    // The message names the failure; bindings' messages carry no secrets.
    return {
      status: "fail",
      latencyMs: Math.round(performance.now() - started),
      error: error instanceof Error ? error.message.slice(0, 200) : "failed",
    };
  } finally {
    if (timer !== undefined) clearTimeout(timer);
  }
}

/** Round trips to D1, KV and R2, run in parallel. Reads only: a probe writes nothing. */
export async function runReadinessChecks(env: Pick<Env, "DB" | "CACHE" | "FILES">) {
  const [d1, kv, r2] = await Promise.all([
    timed(() => env.DB.prepare("SELECT 1").first()),
    timed(() => env.CACHE.get("health:probe")),
    timed(() => env.FILES.head("health/probe")),
  ]);
  return { d1, kv, r2 };
}

export async function queuePulse(env: Pick<Env, "DB">): Promise<QueuePulse> {
  const at = await lastProcessedAt(env, heartbeatTask.kind).catch(() => null);
  const fresh = at !== null && clock.now() - at <= PULSE_STALE_MS;
  return { status: fresh ? "pass" : "warn", lastHeartbeatAt: at === null ? null : clock.iso(at) };
}
