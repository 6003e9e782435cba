import type { Module } from "../../platform/module";
import { createRouter } from "../../platform/openapi";
import { heartbeatTask, sendHeartbeat } from "./consumers";
import { getHealth, getReadiness } from "./handlers";
import { health, readiness } from "./routes";

export const healthModule: Module = {
  name: "health",
  router: createRouter().openapi(health, getHealth).openapi(readiness, getReadiness),
  tasks: [heartbeatTask],
  crons: [sendHeartbeat],
};
