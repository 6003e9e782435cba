import type { Runtime } from "./context";
import { describeError } from "./logger";

/**
 * The one `scheduled` dispatcher. Modules declare cron tasks (gathered in `src/modules.ts`); a
 * trigger runs every task whose schedule equals the firing cron expression, each isolated
 * so one failing task does not stop the others. Schedules must appear in wrangler.toml's
 * `[triggers] crons` to fire.
 */

export type CronTaskResult = Record<string, number | string>;

export type CronTask = {
  name: string;
  /** A cron expression exactly as written in wrangler.toml. */
  schedule: string;
  run(env: Env, context: { now: number } & Omit<Runtime, "env">): Promise<CronTaskResult>;
};

export type CronOutcome = { task: string; ok: boolean; result?: CronTaskResult; error?: string };

export async function runCronTasks(
  tasks: readonly CronTask[],
  cron: string,
  { env, config, logger }: Runtime,
  now: number,
): Promise<CronOutcome[]> {
  const due = tasks.filter((task) => task.schedule === cron);
  if (due.length === 0) logger.warn("cron trigger has no registered task", { cron });
  return Promise.all(
    due.map(async (task): Promise<CronOutcome> => {
      const log = logger.child({ cronTask: task.name, cron });
      try {
        const result = await task.run(env, { now, config, logger: log });
        log.info("cron task done", { ...result });
        return { task: task.name, ok: true, result };
      } catch (error) {
        log.error("cron task failed", describeError(error));
        return { task: task.name, ok: false, error: error instanceof Error ? error.message : String(error) };
      }
    }),
  );
}
