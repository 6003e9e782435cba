import { z } from "@hono/zod-openapi";
import { ORG_ROLES } from "../../../middleware/permissions";
import { EmailSchema } from "../schema";

const idOf = (prefix: string) =>
  z
    .string()
    .regex(new RegExp(`^${prefix}_[0-9A-HJKMNP-TV-Z]{26}$`), `must be an id like ${prefix}_…`)
    .openapi({ example: `${prefix}_01JD0000000000000000000000` });

export const OrgIdParams = z.object({ orgId: idOf("org") }).strict();
export const MemberParams = z.object({ orgId: idOf("org"), userId: idOf("usr") }).strict();
export const InvitationParams = z.object({ orgId: idOf("org"), id: idOf("inv") }).strict();

const OrgRoleSchema = z.enum(ORG_ROLES);
const OrgNameSchema = z.string().trim().min(1).max(100);

export const CreateOrgBody = z.object({ name: OrgNameSchema }).strict().openapi("CreateOrgRequest");
export const UpdateOrgBody = z.object({ name: OrgNameSchema }).strict().openapi("UpdateOrgRequest");
export const UpdateMemberBody = z.object({ role: OrgRoleSchema }).strict().openapi("UpdateMemberRequest");
export const CreateInvitationBody = z
  .object({ email: EmailSchema, role: OrgRoleSchema })
  .strict()
  .openapi("CreateInvitationRequest");
export const AcceptInvitationBody = z
  .object({ token: z.string().min(1).max(200) })
  .strict()
  .openapi("AcceptInvitationRequest");

const page = <T extends z.ZodType>(item: T, name: string) =>
  z.object({ items: z.array(item), nextCursor: z.string().nullable() }).openapi(name);

export const OrgSchema = z
  .object({ id: z.string(), name: z.string(), role: OrgRoleSchema, createdAt: z.string() })
  .openapi("Org", { description: "An organization, with the caller's role in it" });
export const OrgListSchema = page(OrgSchema, "OrgList");

const MemberSchema = z
  .object({ userId: z.string(), email: z.string(), name: z.string(), role: OrgRoleSchema, joinedAt: z.string() })
  .openapi("Member");
export const MemberListSchema = page(MemberSchema, "MemberList");

export const InvitationSchema = z
  .object({
    id: z.string(),
    orgId: z.string(),
    email: z.string(),
    role: OrgRoleSchema,
    invitedBy: z.string(),
    createdAt: z.string(),
    expiresAt: z.string(),
  })
  .openapi("Invitation");
export const InvitationListSchema = page(InvitationSchema, "InvitationList");

export const MembershipSchema = z.object({ orgId: z.string(), role: OrgRoleSchema }).openapi("Membership");

const AuditEntrySchema = z
  .object({
    id: z.string(),
    orgId: z.string().nullable(),
    actorId: z.string(),
    action: z.string(),
    targetType: z.string(),
    targetId: z.string(),
    details: z.record(z.string(), z.unknown()),
    requestId: z.string().nullable(),
    createdAt: z.string(),
  })
  .openapi("AuditEntry");
export const AuditListSchema = page(AuditEntrySchema, "AuditList");
