import { z } from "@hono/zod-openapi";
import type { CronTask } from "../../platform/cron";
import { defineTask, enqueue } from "../../platform/queue/tasks";

/**
 * The queue heartbeat: every cron tick sends a task whose processing proves that the JOBS
 * producer, queue and consumer all work; readiness reports when the last one was processed.
 */
export const heartbeatTask = defineTask({
  kind: "health.heartbeat",
  payload: z.object({ slot: z.number().int() }).strict(),
  // Marking the row processed is the whole effect.
  handle: async () => {},
});

export const HEARTBEAT_EVERY_MS = 5 * 60 * 1000;

export const sendHeartbeat: CronTask = {
  name: "health.heartbeat",
  schedule: "*/5 * * * *",
  async run(env, { now }) {
    const slot = Math.floor(now / HEARTBEAT_EVERY_MS);
    const { taskId } = await enqueue(env, heartbeatTask, { slot }, { reference: `heartbeat:${slot}` });
    return { taskId };
  },
};
