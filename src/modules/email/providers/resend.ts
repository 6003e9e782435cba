import { z } from "@hono/zod-openapi";
import { Redactor } from "../../../platform/redact";
import { answerJson, checkAnswer, failedAnswerOf } from "../../../platform/upstreams/answers";
import type { EmailProvider } from "./types";

const SentSchema = z.object({ id: z.string().min(1).max(256) });

/** Resend answers a small JSON object; anything much larger is not its answer. */
const MAX_ANSWER_BYTES = 64 * 1024;

/**
 * Resend's HTTP API (POST /emails). The outbox id is the idempotency key, so a retried
 * delivery never sends the message twice. A failure throws (the queue retries with backoff);
 * its message keeps Resend's status and a redacted excerpt of its answer, for the logs.
 */
export const resendProvider: EmailProvider = {
  async send(config, message) {
    const apiKey = config.RESEND_API_KEY ?? "";
    const response = await fetch(`${config.RESEND_BASE_URL.replace(/\/$/, "")}/emails`, {
      method: "POST",
      headers: {
        Authorization: `Bearer ${apiKey}`,
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
      const failed = await failedAnswerOf(response, new Redactor([apiKey]));
      throw new Error(`resend answered ${failed.status}: ${failed.excerpt}`);
    }
    const body = await answerJson(response, MAX_ANSWER_BYTES);
    const sent = body.ok ? checkAnswer(SentSchema, body.value) : body;
    if (!sent.ok) throw new Error(`resend answered without a message id (${sent.problem})`);
    return { status: "sent", providerMessageId: sent.value.id };
  },
};
