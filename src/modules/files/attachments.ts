import { and, eq, isNull } from "drizzle-orm";
import { database } from "../../platform/db";
import { port } from "../../platform/port";
import { files } from "./tables";

/**
 * Files attached to another module's resources (a submission, feedback, a certificate, a
 * generated document). The file stays its account's (charged to it, changed and deleted by it);
 * who else may read it is for the module owning the resource to say, through a reader it gives
 * the composition root for its kind of resource.
 */

/** Whether `userId` may read what is attached to the resource `resourceId` of one kind. */
export type FileReader = (env: Env, userId: string, resourceId: string) => Promise<boolean>;

/** The readers by resource kind (`learning.submission` → learning's answer). */
export const fileReadersPort = port<Readonly<Record<string, FileReader>>>("files: who may read attached files");

/**
 * Attaches a file of `accountId` to a resource, once: false when there is no such file of that
 * account, or it is attached to something else already.
 */
export async function attachFile(
  env: Env,
  attachment: { fileId: string; accountId: string; kind: string; resourceId: string },
): Promise<boolean> {
  if (!fileReadersPort.get()[attachment.kind]) throw new Error(`no file reader for "${attachment.kind}" is wired`);
  const attached = await database(env)
    .update(files)
    .set({ attachedKind: attachment.kind, attachedId: attachment.resourceId })
    .where(and(eq(files.id, attachment.fileId), eq(files.accountId, attachment.accountId), isNull(files.attachedKind)))
    .returning({ id: files.id });
  return attached.length > 0;
}

/** Whether the module owning the file's resource lets `userId` read it. */
export async function attachmentReadable(
  env: Env,
  file: Pick<typeof files.$inferSelect, "attachedKind" | "attachedId">,
  userId: string,
): Promise<boolean> {
  if (file.attachedKind === null || file.attachedId === null) return false;
  const reader = fileReadersPort.get()[file.attachedKind];
  return reader ? reader(env, userId, file.attachedId) : false;
}
