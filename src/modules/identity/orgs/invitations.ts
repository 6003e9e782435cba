import { and, eq, gt, isNull, sql } from "drizzle-orm";
import { can, type OrgRole } from "../../../middleware/permissions";
import { requireOrgPermission } from "../../../middleware/tenancy";
import { clock } from "../../../platform/clock";
import type { Actor, Configured } from "../../../platform/context";
import { randomToken, sha256Hex } from "../../../platform/crypto";
import { database, isUniqueViolation } from "../../../platform/db";
import { AppError } from "../../../platform/errors";
import { newId } from "../../../platform/ids";
import { keyset, toPage } from "../../../platform/pagination";
import { sendEmail } from "../../email/api";
import { planLimitError, planLimitOf } from "../../plans/api";
import { auditInsertIfChanged } from "../audit";
import { forgetMembership } from "../session-cache";
import { invitations, memberships, orgs, users } from "../tables";
import { membershipRole } from "./memberships";

/**
 * Invitations: an email with a single-use token, valid 7 days. Accepting needs a signed-in
 * user whose verified email is the invited one; the membership and the acceptance are one
 * batch, so a token is never used twice and nobody joins twice.
 *
 * Seats: the org's plan caps its members (`max_org_members`). A pending invitation holds a
 * seat, so inviting needs members + pending invitations below the cap; accepting needs members
 * below it (the cap may have dropped since: the first to accept get the seats left). Both are
 * checked inside the batch that writes, so concurrent invitations or acceptances cannot pass it.
 */

const INVITATION_TTL_MS = 7 * 24 * 60 * 60 * 1000;

type InvitationRow = typeof invitations.$inferSelect;

const publicInvitation = (row: InvitationRow) => ({
  id: row.id,
  orgId: row.orgId,
  email: row.email,
  role: row.role,
  invitedBy: row.invitedBy,
  createdAt: clock.iso(row.createdAt),
  expiresAt: clock.iso(row.expiresAt),
});

export async function createInvitation(
  configured: Configured,
  actor: Actor,
  orgId: string,
  input: { email: string; role: OrgRole },
) {
  const { env } = configured;
  const actorRole = await requireOrgPermission(env, actor.userId, orgId, "invitations:manage");
  if (input.role === "owner" && !can(actorRole, "owners:manage"))
    throw new AppError("forbidden", "Only owners can invite owners.");
  const db = database(env);
  const [existing] = await db
    .select({ userId: users.id })
    .from(users)
    .innerJoin(memberships, and(eq(memberships.userId, users.id), eq(memberships.orgId, orgId)))
    .where(eq(users.email, input.email));
  if (existing) throw new AppError("conflict", "This person is already a member.");
  const [org] = await db.select().from(orgs).where(eq(orgs.id, orgId));
  const [inviter] = await db.select({ name: users.name }).from(users).where(eq(users.id, actor.userId));
  const seats = await planLimitOf(env, orgId, "maxOrgMembers");
  const now = clock.now();
  const token = randomToken();
  const row: InvitationRow = {
    id: newId("inv", now),
    orgId,
    email: input.email,
    role: input.role,
    tokenHash: await sha256Hex(token),
    invitedBy: actor.userId,
    createdAt: now,
    expiresAt: now + INVITATION_TTL_MS,
    acceptedAt: null,
    revokedAt: null,
  };
  // Members and the other pending invitations (one to this address is replaced) leave a seat.
  const seatLeft = sql`(SELECT count(*) FROM ${memberships} WHERE ${memberships.orgId} = ${orgId})
    + (SELECT count(*) FROM ${invitations} WHERE ${invitations.orgId} = ${orgId} AND ${invitations.email} <> ${input.email}
       AND ${pending(now)}) < ${seats.value}`;
  const [, inserted] = await db.batch([
    // A new invitation replaces any pending one to the same address.
    db
      .update(invitations)
      .set({ revokedAt: now })
      .where(
        and(
          eq(invitations.orgId, orgId),
          eq(invitations.email, input.email),
          isNull(invitations.acceptedAt),
          isNull(invitations.revokedAt),
          seatLeft,
        ),
      ),
    // drizzle names every column of the table in the INSERT; the SELECT gives them in that order.
    db
      .insert(invitations)
      .select(
        sql`SELECT ${row.id}, ${row.orgId}, ${row.email}, ${row.role}, ${row.tokenHash}, ${row.invitedBy}, ${row.createdAt}, ${row.expiresAt}, NULL, NULL WHERE ${seatLeft}`,
      )
      .returning({ id: invitations.id }),
    auditInsertIfChanged(env, {
      orgId,
      actorId: actor.userId,
      action: "invitation.created",
      targetType: "invitation",
      targetId: row.id,
      details: { email: input.email, role: input.role },
      requestId: actor.requestId,
    }),
  ]);
  if (inserted.length === 0) {
    throw await planLimitError(
      env,
      "maxOrgMembers",
      seats,
      `This organization's plan allows ${seats.value} members, pending invitations included.`,
    );
  }
  await sendEmail(configured, input.email, "invitation", {
    orgName: org?.name ?? "an organization",
    inviterName: inviter?.name ?? "Someone",
    role: input.role,
    token,
  });
  return publicInvitation(row);
}

const pending = (now: number) =>
  and(isNull(invitations.acceptedAt), isNull(invitations.revokedAt), gt(invitations.expiresAt, now));

export async function listInvitations(env: Env, actor: Actor, orgId: string, page: { limit: number; cursor?: string }) {
  await requireOrgPermission(env, actor.userId, orgId, "invitations:manage");
  const seek = keyset(page.cursor, invitations.createdAt, invitations.id, "desc");
  const rows = await database(env)
    .select()
    .from(invitations)
    .where(and(eq(invitations.orgId, orgId), pending(clock.now()), seek.after))
    .orderBy(...seek.orderBy)
    .limit(page.limit + 1);
  const { items, nextCursor } = toPage(rows, page.limit, (row) => ({ key: row.createdAt, id: row.id }));
  return { items: items.map(publicInvitation), nextCursor };
}

export async function revokeInvitation(env: Env, actor: Actor, orgId: string, invitationId: string) {
  await requireOrgPermission(env, actor.userId, orgId, "invitations:manage");
  const db = database(env);
  const [revoked] = await db.batch([
    db
      .update(invitations)
      .set({ revokedAt: clock.now() })
      .where(and(eq(invitations.id, invitationId), eq(invitations.orgId, orgId), pending(clock.now())))
      .returning({ id: invitations.id }),
    auditInsertIfChanged(env, {
      orgId,
      actorId: actor.userId,
      action: "invitation.revoked",
      targetType: "invitation",
      targetId: invitationId,
      requestId: actor.requestId,
    }),
  ]);
  if (revoked.length === 0) throw new AppError("not_found", "No such pending invitation.");
}

const invalidInvitation = () =>
  new AppError("invalid_token", "This invitation is invalid, already used, revoked or expired.");

/** The inviter must still be allowed to grant the role: rights lost since then void the invitation. */
async function inviterStillEntitled(env: Env, invitation: InvitationRow): Promise<boolean> {
  const role = await membershipRole(env, invitation.orgId, invitation.invitedBy);
  if (!role || !can(role, "invitations:manage")) return false;
  return invitation.role !== "owner" || can(role, "owners:manage");
}

export async function acceptInvitation(env: Env, actor: Actor, token: string) {
  const db = database(env);
  const now = clock.now();
  const [invitation] = await db
    .select()
    .from(invitations)
    .where(and(eq(invitations.tokenHash, await sha256Hex(token)), pending(now)));
  if (!invitation || !(await inviterStillEntitled(env, invitation))) throw invalidInvitation();
  const [user] = await db.select().from(users).where(eq(users.id, actor.userId));
  if (!user?.emailVerifiedAt || user.email !== invitation.email) {
    throw new AppError("forbidden", "This invitation is for another email address, or yours is not verified yet.");
  }
  if (await membershipRole(env, invitation.orgId, actor.userId))
    throw new AppError("conflict", "You are already a member.");
  const seats = await planLimitOf(env, invitation.orgId, "maxOrgMembers");
  const members = sql`(SELECT count(*) FROM ${memberships} WHERE ${memberships.orgId} = ${invitation.orgId})`;
  let claimed: { id: string }[];
  try {
    // The claim decides: the membership and the audit entry are written only if this request
    // turned the invitation from pending to accepted (a revoke or a second accept in between
    // leaves nothing behind).
    [claimed] = await db.batch([
      db
        .update(invitations)
        .set({ acceptedAt: now })
        .where(and(eq(invitations.id, invitation.id), pending(now), sql`${members} < ${seats.value}`))
        .returning({ id: invitations.id }),
      db.insert(memberships).select(
        db
          .select({
            orgId: invitations.orgId,
            userId: sql<string>`${actor.userId}`.as("user_id"),
            role: invitations.role,
            createdAt: sql<number>`${now}`.as("created_at"),
          })
          .from(invitations)
          .where(and(eq(invitations.id, invitation.id), eq(invitations.acceptedAt, now))),
      ),
      auditInsertIfChanged(env, {
        orgId: invitation.orgId,
        actorId: actor.userId,
        action: "invitation.accepted",
        targetType: "invitation",
        targetId: invitation.id,
        details: { role: invitation.role },
        requestId: actor.requestId,
      }),
    ]);
  } catch (error) {
    if (isUniqueViolation(error)) throw new AppError("conflict", "You are already a member.");
    throw error;
  }
  forgetMembership(invitation.orgId, actor.userId);
  if (claimed.length === 0) {
    const [seated] = await db
      .select({ count: sql<number>`count(*)` })
      .from(memberships)
      .where(eq(memberships.orgId, invitation.orgId));
    if ((seated?.count ?? 0) >= seats.value) {
      throw await planLimitError(
        env,
        "maxOrgMembers",
        seats,
        `This organization's plan allows ${seats.value} members.`,
      );
    }
    throw invalidInvitation();
  }
  return { orgId: invitation.orgId, role: invitation.role };
}
