import { z } from "@hono/zod-openapi";
import { and, eq } from "drizzle-orm";
import { clock } from "../../platform/clock";
import { database } from "../../platform/db";
import { defineTask } from "../../platform/queue/tasks";
import { emailProviders } from "./providers";
import { emailOutbox } from "./tables";

/** Delivers one outbox message through the configured provider; idempotent per message. */
export const deliverEmailTask = defineTask({
  kind: "email.deliver",
  payload: z.object({ outboxId: z.string() }).strict(),
  async handle({ outboxId }, { env, config, logger }) {
    const db = database(env);
    const [message] = await db.select().from(emailOutbox).where(eq(emailOutbox.id, outboxId));
    if (message?.status !== "queued") return;
    const delivery = await emailProviders[config.EMAIL_PROVIDER].send(config, {
      id: message.id,
      from: config.EMAIL_FROM,
      to: message.toAddress,
      subject: message.subject,
      text: message.textBody ?? "",
      html: message.htmlBody ?? "",
    });
    const sent = delivery.status === "sent";
    await db
      .update(emailOutbox)
      .set({
        status: delivery.status,
        provider: config.EMAIL_PROVIDER,
        providerMessageId: delivery.providerMessageId,
        sentAt: clock.now(),
        // Bodies may hold single-use tokens: once a provider has the message, they go.
        ...(sent ? { textBody: null, htmlBody: null } : {}),
      })
      .where(and(eq(emailOutbox.id, outboxId), eq(emailOutbox.status, "queued")));
    logger.info("email delivered", { outboxId, template: message.template, status: delivery.status });
  },
  async onFailure({ outboxId }, { env }) {
    await database(env)
      .update(emailOutbox)
      .set({ status: "failed", textBody: null, htmlBody: null })
      .where(and(eq(emailOutbox.id, outboxId), eq(emailOutbox.status, "queued")));
  },
});
