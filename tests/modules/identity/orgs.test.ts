import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { wireModules } from "../../../src/modules";
import { orgDeletionGuards } from "../../../src/modules/identity/api";
import { api, expectProblem } from "../../helpers/client";
import { as, emailedToken, type Registered, registerUser } from "../../helpers/identity";
import { createOrg, join, type Org, verified } from "../../helpers/orgs";
import { expectMatrix, roleMatrix } from "../../helpers/roles";

const role = (org: Org, user: Registered, asUser: Registered) =>
  api<{ items: { userId: string; role: string }[] }>(`/v1/orgs/${org.id}/members`, { headers: as(asUser) }).then(
    (response) => response.body.items.find((member) => member.userId === user.user.id)?.role,
  );

describe("organizations", () => {
  it("the creator becomes owner; the org lists as mine", async () => {
    const owner = await registerUser();
    const created = await api<Org>("/v1/orgs", { json: { name: "  Acme Inc  " }, headers: as(owner) });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ id: expect.stringMatching(/^org_/), name: "Acme Inc", role: "owner" });
    const mine = await api<{ items: Org[] }>("/v1/orgs", { headers: as(owner) });
    expect(mine.body.items.map((org) => org.id)).toEqual([created.body.id]);
    expect((await api(`/v1/orgs/${created.body.id}`, { headers: as(owner) })).body).toMatchObject({ name: "Acme Inc" });
  });

  it("another user's org answers 404, whatever the route", async () => {
    const owner = await registerUser();
    const stranger = await registerUser();
    const org = await createOrg(owner);
    for (const [method, path, json] of [
      ["GET", `/v1/orgs/${org.id}`, undefined],
      ["PATCH", `/v1/orgs/${org.id}`, { name: "Mine now" }],
      ["DELETE", `/v1/orgs/${org.id}`, undefined],
      ["GET", `/v1/orgs/${org.id}/members`, undefined],
      ["GET", `/v1/orgs/${org.id}/invitations`, undefined],
      ["POST", `/v1/orgs/${org.id}/invitations`, { email: "x@example.com", role: "member" }],
      ["GET", `/v1/orgs/${org.id}/audit`, undefined],
      ["POST", `/v1/orgs/${org.id}/leave`, undefined],
      ["PATCH", `/v1/orgs/${org.id}/members/${owner.user.id}`, { role: "member" }],
      ["DELETE", `/v1/orgs/${org.id}/members/${owner.user.id}`, undefined],
      ["DELETE", `/v1/orgs/${org.id}/invitations/inv_01JD0000000000000000000000`, undefined],
    ] as const) {
      expectProblem(await api(path, { method, json, headers: as(stranger) }), 404, "not_found");
    }
    expect((await api<Org>(`/v1/orgs/${org.id}`, { headers: as(owner) })).body.name).toBe("Acme");
  });

  it("refuses bad ids and bodies with 400", async () => {
    const owner = await registerUser();
    expectProblem(await api("/v1/orgs/not-an-id", { headers: as(owner) }), 400, "validation_failed");
    expectProblem(await api("/v1/orgs", { json: { name: "" }, headers: as(owner) }), 400, "validation_failed");
    expectProblem(
      await api("/v1/orgs", { json: { name: "A", owner: "x" }, headers: as(owner) }),
      400,
      "validation_failed",
    );
    expectProblem(await api("/v1/orgs", { json: { name: "A" } }), 401, "unauthorized");
  });

  it("deletion asks the wired guards first", async () => {
    const owner = await registerUser();
    const kept = await createOrg(owner, "Kept");
    const gone = await createOrg(owner, "Gone");
    orgDeletionGuards.wire([
      async (_env, orgId) => (orgId === kept.id ? { reason: "a subscription is live", forcible: false } : null),
    ]);
    const refused = await api(`/v1/orgs/${kept.id}`, { method: "DELETE", headers: as(owner) });
    wireModules();
    expect(expectProblem(refused, 409, "conflict").detail).toContain("a subscription is live");
    expect((await api(`/v1/orgs/${gone.id}`, { method: "DELETE", headers: as(owner) })).status).toBe(204);
    expectProblem(await api(`/v1/orgs/${gone.id}`, { headers: as(owner) }), 404, "not_found");
  });
});

describe("invitations", () => {
  it("invite → accept → member access", async () => {
    const owner = await registerUser();
    const invitee = await verified();
    const org = await createOrg(owner);
    expectProblem(await api(`/v1/orgs/${org.id}`, { headers: as(invitee) }), 404, "not_found");
    const invited = await api<{ id: string; role: string }>(`/v1/orgs/${org.id}/invitations`, {
      json: { email: invitee.email.toUpperCase(), role: "member" },
      headers: as(owner),
    });
    expect(invited.status).toBe(201);
    const pending = await api<{ items: { id: string }[] }>(`/v1/orgs/${org.id}/invitations`, { headers: as(owner) });
    expect(pending.body.items.map((item) => item.id)).toEqual([invited.body.id]);
    const token = await emailedToken(invitee.email, "invitation");
    const accepted = await api("/v1/invitations/accept", { json: { token }, headers: as(invitee) });
    expect(accepted.body).toEqual({ orgId: org.id, role: "member" });
    expect((await api<Org>(`/v1/orgs/${org.id}`, { headers: as(invitee) })).body.role).toBe("member");
    expectProblem(await api("/v1/invitations/accept", { json: { token }, headers: as(invitee) }), 400, "invalid_token");
  });

  it("must be accepted by the verified owner of the invited address", async () => {
    const owner = await registerUser();
    const unverified = await registerUser();
    const other = await verified();
    const org = await createOrg(owner);
    await api(`/v1/orgs/${org.id}/invitations`, {
      json: { email: unverified.email, role: "member" },
      headers: as(owner),
    });
    const token = await emailedToken(unverified.email, "invitation");
    expectProblem(await api("/v1/invitations/accept", { json: { token }, headers: as(other) }), 403, "forbidden");
    expectProblem(await api("/v1/invitations/accept", { json: { token }, headers: as(unverified) }), 403, "forbidden");
    const members = await api<{ items: unknown[] }>(`/v1/orgs/${org.id}/members`, { headers: as(owner) });
    expect(members.body.items).toHaveLength(1);
  });

  it("another org's invitation id answers 404 under an org you manage", async () => {
    const alice = await registerUser();
    const bob = await registerUser();
    const aliceOrg = await createOrg(alice, "Alice Co");
    const bobOrg = await createOrg(bob, "Bob Co");
    const invited = await api<{ id: string }>(`/v1/orgs/${bobOrg.id}/invitations`, {
      json: { email: "someone@example.com", role: "member" },
      headers: as(bob),
    });
    const crossed = await api(`/v1/orgs/${aliceOrg.id}/invitations/${invited.body.id}`, {
      method: "DELETE",
      headers: as(alice),
    });
    expectProblem(crossed, 404, "not_found");
    const stillPending = await api<{ items: { id: string }[] }>(`/v1/orgs/${bobOrg.id}/invitations`, {
      headers: as(bob),
    });
    expect(stillPending.body.items.map((item) => item.id)).toEqual([invited.body.id]);
  });

  it("dies when its inviter loses the right to grant it", async () => {
    const owner = await registerUser();
    const admin = await verified();
    const invitee = await verified();
    const org = await createOrg(owner);
    await join(org, owner, admin, "admin");
    await api(`/v1/orgs/${org.id}/invitations`, { json: { email: invitee.email, role: "admin" }, headers: as(admin) });
    const token = await emailedToken(invitee.email, "invitation");
    await api(`/v1/orgs/${org.id}/members/${admin.user.id}`, {
      method: "PATCH",
      json: { role: "member" },
      headers: as(owner),
    });
    expectProblem(await api("/v1/invitations/accept", { json: { token }, headers: as(invitee) }), 400, "invalid_token");
    expectProblem(await api(`/v1/orgs/${org.id}`, { headers: as(invitee) }), 404, "not_found");
  });

  it("revoked and expired invitations cannot be accepted", async () => {
    const owner = await registerUser();
    const invitee = await verified();
    const org = await createOrg(owner);
    const invited = await api<{ id: string }>(`/v1/orgs/${org.id}/invitations`, {
      json: { email: invitee.email, role: "admin" },
      headers: as(owner),
    });
    const token = await emailedToken(invitee.email, "invitation");
    expect(
      (await api(`/v1/orgs/${org.id}/invitations/${invited.body.id}`, { method: "DELETE", headers: as(owner) })).status,
    ).toBe(204);
    expectProblem(await api("/v1/invitations/accept", { json: { token }, headers: as(invitee) }), 400, "invalid_token");
    expectProblem(
      await api(`/v1/orgs/${org.id}/invitations/${invited.body.id}`, { method: "DELETE", headers: as(owner) }),
      404,
      "not_found",
    );
  });

  it("members cannot invite; admins cannot invite owners; members already in answer 409", async () => {
    const owner = await registerUser();
    const admin = await verified();
    const member = await verified();
    const org = await createOrg(owner);
    await join(org, owner, admin, "admin");
    await join(org, owner, member, "member");
    expectProblem(
      await api(`/v1/orgs/${org.id}/invitations`, {
        json: { email: "new@example.com", role: "member" },
        headers: as(member),
      }),
      403,
      "forbidden",
    );
    expectProblem(
      await api(`/v1/orgs/${org.id}/invitations`, {
        json: { email: "new@example.com", role: "owner" },
        headers: as(admin),
      }),
      403,
      "forbidden",
    );
    expectProblem(
      await api(`/v1/orgs/${org.id}/invitations`, {
        json: { email: member.email, role: "member" },
        headers: as(admin),
      }),
      409,
      "conflict",
    );
  });
});

describe("roles", () => {
  it("a member calling an admin action gets 403 and changes nothing", async () => {
    const { org, owner, member } = await roleMatrix();
    expectProblem(
      await api(`/v1/orgs/${org.id}`, { method: "PATCH", json: { name: "Hijacked" }, headers: as(member) }),
      403,
      "forbidden",
    );
    expectProblem(
      await api(`/v1/orgs/${org.id}/members/${owner.user.id}`, {
        method: "PATCH",
        json: { role: "member" },
        headers: as(member),
      }),
      403,
      "forbidden",
    );
    expectProblem(await api(`/v1/orgs/${org.id}/audit`, { headers: as(member) }), 403, "forbidden");
    expect((await api<Org>(`/v1/orgs/${org.id}`, { headers: as(owner) })).body.name).toBe("Matrix Inc");
  });

  it("answers each role by its permissions: members read, owners and admins manage, API keys are refused", async () => {
    const cast = await roleMatrix();
    const path = `/v1/orgs/${cast.org.id}`;
    const refused = [403, "forbidden"] as const;
    const keysRefused = { keyWithScope: refused, keyWithoutScope: refused };
    const hidden = [404, "not_found"] as const;
    for (const read of [path, `${path}/members`]) {
      await expectMatrix(
        cast,
        { path: read, org: false },
        { owner: 200, admin: 200, member: 200, outsider: hidden, ...keysRefused },
      );
    }
    for (const managed of [`${path}/audit`, `${path}/invitations`]) {
      await expectMatrix(
        cast,
        { path: managed, org: false },
        { owner: 200, admin: 200, member: refused, outsider: hidden, ...keysRefused },
      );
    }
    const renamed = await expectMatrix(
      cast,
      (headers, role) => api<Org>(path, { method: "PATCH", json: { name: `Renamed by ${role}` }, headers }),
      { owner: 200, admin: 200, member: refused, outsider: hidden, ...keysRefused },
    );
    expect(renamed.admin.body.name).toBe("Renamed by admin");
    expect((await api<Org>(path, { headers: as(cast.owner) })).body.name).toBe("Renamed by admin");
  });

  it("admins manage members but not owners", async () => {
    const owner = await registerUser();
    const admin = await verified();
    const member = await verified();
    const org = await createOrg(owner);
    await join(org, owner, admin, "admin");
    await join(org, owner, member, "member");
    const patch = (target: Registered, json: unknown, by: Registered) =>
      api(`/v1/orgs/${org.id}/members/${target.user.id}`, { method: "PATCH", json, headers: as(by) });
    expect((await patch(member, { role: "admin" }, admin)).status).toBe(204);
    expect(await role(org, member, owner)).toBe("admin");
    expectProblem(await patch(owner, { role: "member" }, admin), 403, "forbidden");
    expectProblem(await patch(member, { role: "owner" }, admin), 403, "forbidden");
    expectProblem(
      await api(`/v1/orgs/${org.id}/members/${owner.user.id}`, { method: "DELETE", headers: as(admin) }),
      403,
      "forbidden",
    );
    expect(
      (await api(`/v1/orgs/${org.id}/members/${member.user.id}`, { method: "DELETE", headers: as(admin) })).status,
    ).toBe(204);
    expectProblem(await api(`/v1/orgs/${org.id}`, { headers: as(member) }), 404, "not_found");
  });

  it("keeps at least one owner: demoting, removing or leaving as the last owner is 409", async () => {
    const owner = await registerUser();
    const second = await verified();
    const org = await createOrg(owner);
    const self = `/v1/orgs/${org.id}/members/${owner.user.id}`;
    expectProblem(await api(self, { method: "PATCH", json: { role: "admin" }, headers: as(owner) }), 409, "conflict");
    expectProblem(await api(self, { method: "DELETE", headers: as(owner) }), 409, "conflict");
    expectProblem(await api(`/v1/orgs/${org.id}/leave`, { method: "POST", headers: as(owner) }), 409, "conflict");
    await join(org, owner, second, "owner");
    // Two owners demoting each other at once: one wins, the org keeps an owner.
    const results = await Promise.all([
      api(self, { method: "PATCH", json: { role: "member" }, headers: as(second) }),
      api(`/v1/orgs/${org.id}/members/${second.user.id}`, {
        method: "PATCH",
        json: { role: "member" },
        headers: as(owner),
      }),
    ]);
    // The loser is refused by the last-owner check (409) when both passed the role check before
    // either wrote, or by the role check itself (403) once the winner's write made it a member.
    const [won, lost] = results.map((result) => result.status).sort();
    expect(won).toBe(204);
    expect([403, 409]).toContain(lost);
    // The refused change left no audit entry: an entry commits only with its change.
    const audited = await env.DB.prepare(
      "SELECT count(*) AS n FROM audit_log WHERE org_id = ? AND action = 'member.role_changed'",
    )
      .bind(org.id)
      .first<{ n: number }>();
    expect(audited?.n).toBe(1);
    const owners = await env.DB.prepare("SELECT count(*) AS n FROM memberships WHERE org_id = ? AND role = 'owner'")
      .bind(org.id)
      .first<{ n: number }>();
    expect(owners?.n).toBe(1);
  });

  it("a member can leave", async () => {
    const owner = await registerUser();
    const member = await verified();
    const org = await createOrg(owner);
    await join(org, owner, member, "member");
    expect((await api(`/v1/orgs/${org.id}/leave`, { method: "POST", headers: as(member) })).status).toBe(204);
    expectProblem(await api(`/v1/orgs/${org.id}`, { headers: as(member) }), 404, "not_found");
  });
});

describe("org audit log", () => {
  it("records role and membership changes with actor, target and request id", async () => {
    const owner = await registerUser();
    const member = await verified();
    const org = await createOrg(owner);
    await join(org, owner, member, "member");
    await api(`/v1/orgs/${org.id}/members/${member.user.id}`, {
      method: "PATCH",
      json: { role: "admin" },
      headers: { ...as(owner), "x-request-id": "audit-trace-0001" },
    });
    const audit = await api<{
      items: { action: string; actorId: string; targetId: string; requestId: string; details: unknown }[];
    }>(`/v1/orgs/${org.id}/audit`, { headers: as(owner) });
    expect(audit.body.items.map((entry) => entry.action)).toEqual([
      "member.role_changed",
      "invitation.accepted",
      "invitation.created",
      "org.created",
    ]);
    expect(audit.body.items[0]).toMatchObject({
      actorId: owner.user.id,
      targetId: member.user.id,
      requestId: "audit-trace-0001",
      details: { from: "member", to: "admin" },
    });
  });
});
