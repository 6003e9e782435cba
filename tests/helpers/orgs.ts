import { env } from "cloudflare:test";
import { forgetEffectivePlan } from "../../src/modules/plans/service";
import { api } from "./client";
import { as, emailedToken, type Registered, registerUser } from "./identity";

export type Org = { id: string; name: string; role: string };

/** An org created through the API; `owner` becomes its owner. */
export const createOrg = async (owner: Registered, name = "Acme") =>
  (await api<Org>("/v1/orgs", { json: { name }, headers: as(owner) })).body;

/** A fresh user whose email is verified (needed to accept invitations). */
export async function verified() {
  const user = await registerUser();
  await api("/v1/auth/verify-email", { json: { token: await emailedToken(user.email, "verifyEmail") } });
  return user;
}

/** Invites `user` with `role` and has them accept. */
export async function join(org: Org, inviter: Registered, user: Registered, role: string) {
  const invited = await api(`/v1/orgs/${org.id}/invitations`, {
    json: { email: user.email, role },
    headers: as(inviter),
  });
  if (invited.status !== 201) throw new Error(`invite failed: ${invited.text}`);
  const token = await emailedToken(user.email, "invitation");
  const accepted = await api("/v1/invitations/accept", { json: { token }, headers: as(user) });
  if (accepted.status !== 200) throw new Error(`accept failed: ${accepted.text}`);
}

/** Puts an account (an org, a user) on a plan by an admin override, seen at once by this isolate. */
export async function onPlan(accountId: string, planId: "free" | "premium" | "pro") {
  await env.DB.prepare(
    `INSERT INTO plan_overrides (account_id, plan_id, set_by, created_at) VALUES (?1, ?2, 'test', 0)
     ON CONFLICT (account_id) DO UPDATE SET plan_id = ?2`,
  )
    .bind(accountId, planId)
    .run();
  forgetEffectivePlan(accountId);
}
