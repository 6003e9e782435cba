import type { Actor } from "../../../platform/context";
import { AppError } from "../../../platform/errors";
import { replayTask } from "../../../platform/queue/maintenance";
import { auditInsert } from "../../identity/api";

/** A platform admin's replay of a stored Stripe event, audited. */
export async function replayStripeEvent(env: Env, actor: Actor, eventId: string) {
  const replay = await replayTask(env, `stripe:${eventId}`);
  if (replay === "missing") throw new AppError("not_found", "No stored Stripe event has this id.");
  if (replay === "busy") throw new AppError("conflict", "This event is being processed right now; try again shortly.");
  await auditInsert(env, {
    actorId: actor.userId,
    action: "admin.billing_event_replayed",
    targetType: "stripe_event",
    targetId: eventId,
    requestId: actor.requestId,
  });
  return { eventId, taskId: replay.taskId, status: "received" as const };
}
