import { clock, DAY_MS } from "../../platform/clock";
import type { Configured } from "../../platform/context";

import { database } from "../../platform/db";
import { newId } from "../../platform/ids";
import { keyset, toPage } from "../../platform/pagination";
import { enqueue } from "../../platform/queue/tasks";
import { deliverEmailTask } from "./consumers";
import { emailOutbox } from "./tables";
import { type TemplateName, templates } from "./templates";

/**
 * Sending email: the message is rendered and written to the outbox, then its delivery is
 * handed to the JOBS queue (the status-row rule of ARCHITECTURE.md). Callers never wait on
 * a provider.
 */
export async function sendEmail<T extends TemplateName>(
  { env, config }: Configured,
  to: string,
  template: T,
  data: Omit<Parameters<(typeof templates)[T]>[0], "appUrl">,
): Promise<string> {
  const render = templates[template] as (input: unknown) => ReturnType<(typeof templates)[T]>;
  const rendered = render({ ...data, appUrl: config.APP_URL });
  const now = clock.now();
  const id = newId("eml", now);
  await database(env).insert(emailOutbox).values({
    id,
    toAddress: to,
    template,
    subject: rendered.subject,
    textBody: rendered.text,
    htmlBody: rendered.html,
    status: "queued",
    createdAt: now,
  });
  await enqueue(env, deliverEmailTask, { outboxId: id }, { reference: `email:${id}` });
  return id;
}

/** Newest first: the development outbox. */
export async function listOutbox(env: Env, page: { limit: number; cursor?: string }) {
  const seek = keyset(page.cursor, emailOutbox.createdAt, emailOutbox.id, "desc");
  const rows = await database(env)
    .select()
    .from(emailOutbox)
    .where(seek.after)
    .orderBy(...seek.orderBy)
    .limit(page.limit + 1);
  const { items, nextCursor } = toPage(rows, page.limit, (row) => ({ key: row.createdAt, id: row.id }));
  return {
    items: items.map((row) => ({
      id: row.id,
      to: row.toAddress,
      template: row.template,
      subject: row.subject,
      text: row.textBody,
      html: row.htmlBody,
      status: row.status,
      createdAt: clock.iso(row.createdAt),
    })),
    nextCursor,
  };
}

/** How long a message stays in the outbox once it left it (sent, logged or failed). */
const OUTBOX_RETENTION_MS = 30 * DAY_MS;

/** Deletes delivered and failed messages past their retention, a bounded page per cron run. */
export async function purgeOldOutbox(env: Env, now: number, limit = 500): Promise<number> {
  const result = await env.DB.prepare(
    `DELETE FROM email_outbox WHERE id IN (
       SELECT id FROM email_outbox WHERE created_at < ? AND status <> 'queued' LIMIT ?)`,
  )
    .bind(now - OUTBOX_RETENTION_MS, limit)
    .run();
  return result.meta.changes;
}
