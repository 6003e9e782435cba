import { z } from "@hono/zod-openapi";
import type { EmailProvider } from "./types";

const SentSchema = z.object({ id: z.string() });

/**
 * Resend's HTTP API (POST /emails). The outbox id is the idempotency key, so a retried
 * delivery never sends the message twice. A failure throws: the queue retries with backoff.
 */
export const resendProvider: EmailProvider = {
  async send(config, message) {
    const response = await fetch(`${config.RESEND_BASE_URL.replace(/\/$/, "")}/emails`, {
      method: "POST",
      headers: {
        Authorization: `Bearer ${config.RESEND_API_KEY}`,
        "Content-Type": "application/json",
        "Idempotency-Key": message.id,
      },
      body: JSON.stringify({
        from: message.from,
        to: [message.to],
        subject: message.subject,
        text: message.text,
        html: message.html,
      }),
    });
    if (!response.ok) {
      throw new Error(`resend answered ${response.status}`);
    }
    const parsed = SentSchema.safeParse(await response.json().catch(() => null));
    if (!parsed.success) throw new Error("resend answered without a message id");
    return { status: "sent", providerMessageId: parsed.data.id };
  },
};
