import { clock } from "../../platform/clock";
import type { Logger } from "../../platform/logger";
import { describeError } from "../../platform/logger";
import { lastProcessedAt } from "../../platform/queue/tasks";
import { HEARTBEAT_EVERY_MS, heartbeatTask } from "./consumers";
import type { Check, QueuePulse } from "./schema";

const CHECK_TIMEOUT_MS = 2000;
/** Three missed heartbeats before the queue is reported as `warn`. */
const PULSE_STALE_MS = 3 * HEARTBEAT_EVERY_MS;

class TimedOut extends Error {}

function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TimedOut()), ms);
  });
  return Promise.race([work, timeout]).finally(() => {
    if (timer !== undefined) clearTimeout(timer);
  });
}

/**
 * One probe, timed. The answer says only "timed out" or "unreachable": a binding's own
 * message (which may name SQL or tables) goes to the log, never to this public endpoint.
 */
async function timed(name: string, probe: () => Promise<unknown>, logger: Logger): Promise<Check> {
  const started = performance.now();
  const latency = () => Math.round(performance.now() - started);
  try {
    await withTimeout(probe(), CHECK_TIMEOUT_MS);
    return { status: "pass", latencyMs: latency() };
  } catch (error) {
    logger.error("readiness check failed", { check: name, ...describeError(error) });
    const timedOut = error instanceof TimedOut;
    return {
      status: "fail",
      latencyMs: latency(),
      error: timedOut ? `no answer within ${CHECK_TIMEOUT_MS} ms` : "unreachable",
    };
  }
}

/** Round trips to D1, KV and R2, run in parallel. Reads only: a probe writes nothing. */
export async function runReadinessChecks(env: Pick<Env, "DB" | "CACHE" | "FILES">, logger: Logger) {
  const [d1, kv, r2] = await Promise.all([
    timed("d1", () => env.DB.prepare("SELECT 1").first(), logger),
    timed("kv", () => env.CACHE.get("health:probe"), logger),
    timed("r2", () => env.FILES.head("health/probe"), logger),
  ]);
  return { d1, kv, r2 };
}

/** When the last heartbeat went through the queue; unknown (null) when D1 cannot say. */
export async function queuePulse(env: Pick<Env, "DB">): Promise<QueuePulse> {
  const at = await withTimeout(lastProcessedAt(env, heartbeatTask.kind), CHECK_TIMEOUT_MS).catch(() => null);
  const fresh = at !== null && clock.now() - at <= PULSE_STALE_MS;
  return { status: fresh ? "pass" : "warn", lastHeartbeatAt: at === null ? null : clock.iso(at) };
}
