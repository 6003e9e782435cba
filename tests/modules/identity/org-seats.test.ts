import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { api, expectProblem } from "../../helpers/client";
import { as, emailedToken, type Registered, registerUser } from "../../helpers/identity";
import { createOrg, type Org, onPlan, verified } from "../../helpers/orgs";

/**
 * An org's plan caps its members (`max_org_members`: free 3, premium 20, pro 200). Pending
 * invitations hold seats; acceptance is checked again, atomically, since the cap may have dropped.
 */

const invite = (org: Org, inviter: Registered, email: string) =>
  api(`/v1/orgs/${org.id}/invitations`, { json: { email, role: "member" }, headers: as(inviter) });

const membersOf = async (orgId: string) =>
  (await env.DB.prepare("SELECT count(*) AS n FROM memberships WHERE org_id = ?").bind(orgId).first<number>("n")) ?? 0;

describe("org seats", () => {
  it("counts members and pending invitations: the free plan's fourth seat is refused with 403 plan_limit", async () => {
    const owner = await registerUser();
    const org = await createOrg(owner);
    expect((await invite(org, owner, "one@example.com")).status).toBe(201);
    expect((await invite(org, owner, "two@example.com")).status).toBe(201);
    // Inviting the same address again replaces its invitation: no extra seat.
    expect((await invite(org, owner, "two@example.com")).status).toBe(201);
    const refused = await invite(org, owner, "three@example.com");
    const problem = expectProblem(refused, 403, "plan_limit");
    expect(problem).toMatchObject({ limit: "max_org_members", allowed: 3, plan: "free", upgradeTo: "premium" });
    expect(problem.detail).toContain("The Premium plan allows 20.");
    // Nothing was written: no invitation, no email, and the replaced one still stands.
    const pending = await env.DB.prepare(
      "SELECT email FROM invitations WHERE org_id = ? AND accepted_at IS NULL AND revoked_at IS NULL ORDER BY email",
    )
      .bind(org.id)
      .all<{ email: string }>();
    expect(pending.results.map((row) => row.email)).toEqual(["one@example.com", "two@example.com"]);
    const emails = await env.DB.prepare(
      "SELECT count(*) AS n FROM email_outbox WHERE to_address = 'three@example.com'",
    ).first<number>("n");
    expect(emails).toBe(0);
    const audited = await env.DB.prepare(
      "SELECT count(*) AS n FROM audit_log WHERE org_id = ? AND action = 'invitation.created' AND details LIKE '%three@%'",
    )
      .bind(org.id)
      .first<number>("n");
    expect(audited).toBe(0);

    // Revoking an invitation frees its seat.
    const list = await api<{ items: { id: string; email: string }[] }>(`/v1/orgs/${org.id}/invitations`, {
      headers: as(owner),
    });
    const one = list.body.items.find((item) => item.email === "one@example.com");
    expect(
      (await api(`/v1/orgs/${org.id}/invitations/${one?.id}`, { method: "DELETE", headers: as(owner) })).status,
    ).toBe(204);
    expect((await invite(org, owner, "three@example.com")).status).toBe(201);
  });

  it("re-reads the cap at acceptance, atomically: of five concurrent acceptances only the seats left succeed", async () => {
    const owner = await registerUser();
    const org = await createOrg(owner);
    await onPlan(org.id, "premium");
    const people = await Promise.all(Array.from({ length: 5 }, () => verified()));
    for (const person of people) expect((await invite(org, owner, person.email)).status).toBe(201);
    const tokens = await Promise.all(people.map((person) => emailedToken(person.email, "invitation")));
    // The org drops to free (3 seats) with 5 invitations out: the owner and two more fit.
    await onPlan(org.id, "free");
    const answers = await Promise.all(
      people.map((person, index) =>
        api("/v1/invitations/accept", { json: { token: tokens[index] }, headers: as(person) }),
      ),
    );
    const statuses = answers.map((answer) => answer.status).sort();
    expect(statuses).toEqual([200, 200, 403, 403, 403]);
    for (const refused of answers.filter((answer) => answer.status === 403)) {
      expect(expectProblem(refused, 403, "plan_limit")).toMatchObject({ limit: "max_org_members", allowed: 3 });
    }
    expect(await membersOf(org.id)).toBe(3);
  });

  it("a plan with more seats lets more in", async () => {
    const owner = await registerUser();
    const org = await createOrg(owner);
    await onPlan(org.id, "premium");
    for (let i = 0; i < 5; i++)
      expect((await invite(org, owner, `p${i}-${crypto.randomUUID()}@example.com`)).status).toBe(201);
  });
});
