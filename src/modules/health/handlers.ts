import type { RouteHandler } from "@hono/zod-openapi";
import { version } from "../../../package.json";
import type { AppEnv } from "../../platform/context";
import { AppError } from "../../platform/errors";
import type { health, readiness } from "./routes";
import { queuePulse, runReadinessChecks } from "./service";

export const getHealth: RouteHandler<typeof health, AppEnv> = (c) => c.json({ status: "ok" as const, version }, 200);

export const getReadiness: RouteHandler<typeof readiness, AppEnv> = async (c) => {
  const [checks, queue] = await Promise.all([runReadinessChecks(c.env, c.get("logger")), queuePulse(c.env)]);
  const failing = Object.entries(checks).filter(([, check]) => check.status === "fail");
  if (failing.length > 0) {
    throw new AppError("not_ready", `Failing: ${failing.map(([name]) => name).join(", ")}.`, {
      extensions: { checks, queue },
    });
  }
  return c.json({ status: "ready" as const, checks, queue }, 200);
};
