import { createApp } from "./app";
import { configOf, loggerOf } from "./env";
import { cronTasks, queueTasks } from "./modules";
import { runCronTasks } from "./platform/cron";
import { consumeDeadLetters, consumeTasks } from "./platform/queue/consumer";

/** Worker entry: HTTP, the JOBS queue (and its dead-letter queue), cron, and the Durable Object classes. */

export { RateLimiter } from "../durable-objects/rate-limiter";

const app = createApp();

/** The dead-letter queue is the JOBS queue's name with this suffix (wrangler.toml). */
const DEAD_LETTER_SUFFIX = "-dlq";

export default {
  fetch: app.fetch,

  async queue(batch, env) {
    const runtime = { env, config: configOf(env), logger: loggerOf(env, { queue: batch.queue }) };
    if (batch.queue.endsWith(DEAD_LETTER_SUFFIX)) await consumeDeadLetters(batch, runtime, queueTasks);
    else await consumeTasks(batch, runtime, queueTasks);
  },

  async scheduled(controller, env, ctx) {
    const runtime = { env, config: configOf(env), logger: loggerOf(env, { cron: controller.cron }) };
    ctx.waitUntil(runCronTasks(cronTasks, controller.cron, runtime, controller.scheduledTime));
  },
} satisfies ExportedHandler<Env, unknown>;
