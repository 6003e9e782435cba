import { z } from "@hono/zod-openapi";

const OutboxMessageSchema = z
  .object({
    id: z.string(),
    to: z.string(),
    template: z.string(),
    subject: z.string(),
    text: z.string().nullable(),
    html: z.string().nullable(),
    status: z.enum(["queued", "sent", "logged", "failed"]),
    createdAt: z.string(),
  })
  .openapi("OutboxMessage");

export const OutboxPageSchema = z
  .object({ items: z.array(OutboxMessageSchema), nextCursor: z.string().nullable() })
  .openapi("OutboxPage");
