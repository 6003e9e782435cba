import { createExecutionContext, createScheduledController, env, waitOnExecutionContext } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import worker from "../../src/index";
import { cronTasks } from "../../src/modules";
import { type CronTask, runCronTasks } from "../../src/platform/cron";
import { createLogger } from "../../src/platform/logger";
import { runtimeOf } from "../helpers/runtime";

afterEach(() => vi.restoreAllMocks());

const logger = createLogger("error");

describe("scheduled dispatcher", () => {
  it("runs every task of the firing schedule, isolating a failing one", async () => {
    vi.spyOn(console, "error").mockImplementation(() => {});
    const ran: string[] = [];
    const succeeding = (name: string, schedule = "0 * * * *"): CronTask => ({
      name,
      schedule,
      run: async () => {
        ran.push(name);
        return { done: 1 };
      },
    });
    const tasks: CronTask[] = [
      succeeding("a"),
      { name: "b", schedule: "0 * * * *", run: () => Promise.reject(new Error("b broke")) },
      succeeding("c"),
      succeeding("other", "*/5 * * * *"),
    ];
    const outcomes = await runCronTasks(tasks, "0 * * * *", runtimeOf(env, logger), Date.now());
    expect(ran.sort()).toEqual(["a", "c"]);
    expect(outcomes).toEqual([
      { task: "a", ok: true, result: { done: 1 } },
      { task: "b", ok: false, error: "b broke" },
      { task: "c", ok: true, result: { done: 1 } },
    ]);
  });

  it("warns about a trigger with no registered task", async () => {
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    const outcomes = await runCronTasks([], "1 2 3 4 5", runtimeOf(env, createLogger("info")), Date.now());
    expect(outcomes).toEqual([]);
    expect(String(warn.mock.calls[0]?.[0])).toContain("cron trigger has no registered task");
  });

  it("runs the registered tasks from the Worker's scheduled handler", async () => {
    const log = vi.spyOn(console, "log").mockImplementation(() => {});
    const ctx = createExecutionContext();
    await worker.scheduled(createScheduledController({ cron: "*/5 * * * *" }), { ...env, LOG_LEVEL: "info" }, ctx);
    await waitOnExecutionContext(ctx);
    const done = log.mock.calls
      .map((args) => JSON.parse(String(args[0])))
      .filter((line) => line.message === "cron task done")
      .map((line) => line.cronTask);
    expect(done.sort()).toEqual(cronTasks.map((task) => task.name).sort());
  });

  it("lists every task schedule among wrangler.toml's triggers", async () => {
    const { default: toml } = await import("../../wrangler.toml?raw");
    const crons = /crons\s*=\s*\[([^\]]*)\]/.exec(toml)?.[1] ?? "";
    for (const task of cronTasks) expect(crons).toContain(`"${task.schedule}"`);
  });
});
