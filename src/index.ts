import { createApp } from "./app";
import { configOf, loggerOf } from "./env";
import { cronTasks, queueConsumers, queueTasks } from "./modules";
import { runCronTasks } from "./platform/cron";
import { consumeDeadLetters, consumeTasks } from "./platform/queue/consumer";

/** Worker entry: HTTP, the queues (JOBS, its dead-letter queue, the wallet copy), cron, and the Durable Object classes. */

export { RateLimiter } from "../durable-objects/rate-limiter";
export { AccountWallet } from "./modules/billing/api";

const app = createApp();

/** The dead-letter queue is the JOBS queue's name with this suffix (wrangler.toml). */
const DEAD_LETTER_SUFFIX = "-dlq";

export default {
  fetch: app.fetch,

  async queue(batch, env) {
    const runtime = { env, config: configOf(env), logger: loggerOf(env, { queue: batch.queue }) };
    const consumer = queueConsumers[batch.queue];
    if (consumer) await consumer(batch, runtime);
    else if (batch.queue.endsWith(DEAD_LETTER_SUFFIX)) await consumeDeadLetters(batch, runtime, queueTasks);
    else await consumeTasks(batch, runtime, queueTasks);
  },

  async scheduled(controller, env, ctx) {
    const runtime = { env, config: configOf(env), logger: loggerOf(env, { cron: controller.cron }) };
    ctx.waitUntil(runCronTasks(cronTasks, controller.cron, runtime, controller.scheduledTime));
  },
} satisfies ExportedHandler<Env, unknown>;
