import { z } from "@hono/zod-openapi";

export const HealthSchema = z
  .object({
    status: z.literal("ok"),
    version: z.string().openapi({ example: "0.1.0" }),
  })
  .openapi("Health");

const CheckSchema = z
  .object({
    status: z.enum(["pass", "fail"]),
    latencyMs: z.number(),
    error: z.string().optional(),
  })
  .openapi("ReadinessCheck");

const QueuePulseSchema = z
  .object({
    status: z
      .enum(["pass", "warn"])
      .openapi({ description: "warn: no heartbeat processed recently; informs, never fails readiness" }),
    lastHeartbeatAt: z.string().nullable(),
  })
  .openapi("QueuePulse");

export const ReadinessSchema = z
  .object({
    status: z.literal("ready"),
    checks: z.object({ d1: CheckSchema, kv: CheckSchema, r2: CheckSchema }),
    queue: QueuePulseSchema,
  })
  .openapi("Readiness");

export type Check = z.infer<typeof CheckSchema>;
export type QueuePulse = z.infer<typeof QueuePulseSchema>;
