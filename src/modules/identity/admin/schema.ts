import { z } from "@hono/zod-openapi";
import { PaginationQuery } from "../../../platform/pagination";
import { UserSchema } from "../schema";

export const AdminUserQuery = PaginationQuery.extend({
  emailPrefix: z.string().trim().toLowerCase().min(1).max(254).optional(),
  role: z.enum(["user", "admin"]).optional(),
}).strict();

export const AdminUserSchema = UserSchema.extend({ disabled: z.boolean() }).openapi("AdminUser");

export const AdminUserListSchema = z
  .object({ items: z.array(AdminUserSchema), nextCursor: z.string().nullable() })
  .openapi("AdminUserList");

export const AdminUserParams = z
  .object({ id: z.string().regex(/^usr_[0-9A-HJKMNP-TV-Z]{26}$/, "must be a user id") })
  .strict();

export const AdminUpdateUserBody = z
  .object({ role: z.enum(["user", "admin"]).optional(), disabled: z.boolean().optional() })
  .strict()
  .refine((body) => body.role !== undefined || body.disabled !== undefined, "send role, disabled or both")
  .openapi("AdminUpdateUserRequest");
