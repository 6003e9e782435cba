import { defineRoute, jsonResponse } from "../../platform/openapi";
import { HealthSchema, ReadinessSchema } from "./schema";

// Probes are not rate limited: load balancers and monitors call them from few addresses.
export const health = defineRoute(
  {
    method: "get",
    path: "/health",
    tags: ["Health"],
    summary: "Liveness: the Worker answers",
    responses: {
      200: jsonResponse(HealthSchema, "Alive"),
    },
  },
  { rateLimit: false },
);

export const readiness = defineRoute(
  {
    method: "get",
    path: "/health/ready",
    tags: ["Health"],
    summary: "Readiness: D1, KV and R2 answer",
    description:
      "Checks D1, KV and R2 with a latency for each. 503 problem+json with the `checks` when one fails. `queue` reports the last processed heartbeat and never fails readiness.",
    responses: {
      200: jsonResponse(ReadinessSchema, "Ready"),
    },
  },
  { errors: ["not_ready"], rateLimit: false },
);
