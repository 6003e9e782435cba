import { and, desc, eq, gt } from "drizzle-orm";
import { clock } from "../../platform/clock";
import type { RequestContext } from "../../platform/context";
import { database } from "../../platform/db";
import { AppError } from "../../platform/errors";
import { newId } from "../../platform/ids";
import { changeableFile, ownFile } from "./service";
import { sign, signingKeysOf, verify } from "./signing";
import { fileLinks, files } from "./tables";

/**
 * Signed download links: a URL anyone may open until it expires (at most 7 days), unless its
 * link is revoked or its file deleted. The signature makes a link unforgeable; its D1 row makes
 * it revocable; opening one costs a D1 read, and the route is rate-limited per IP.
 */

export const MAX_LINK_SECONDS = 7 * 24 * 3600;
/** Links per file, live or not yet purged: enough for sharing, not a way to fill D1. */
const MAX_LINKS_PER_FILE = 100;

type LinkRow = typeof fileLinks.$inferSelect;
type Claims = Parameters<typeof sign>[1];

async function urlOf(ctx: Pick<RequestContext, "config">, origin: string, row: LinkRow): Promise<string> {
  const claims: Claims = {
    fileId: row.fileId,
    linkId: row.id,
    expires: Math.floor(row.expiresAt / 1000),
    disposition: row.disposition,
  };
  const { kid, signature } = await sign(signingKeysOf(ctx.config), claims);
  const query = new URLSearchParams({
    expires: String(claims.expires),
    disposition: claims.disposition,
    kid,
    signature,
  });
  return `${ctx.config.FILES_PUBLIC_ORIGIN ? new URL(ctx.config.FILES_PUBLIC_ORIGIN).origin : origin}/v1/files/${row.fileId}/links/${row.id}/content?${query}`;
}

const publicLink = async (ctx: Pick<RequestContext, "config">, origin: string, row: LinkRow) => ({
  id: row.id,
  fileId: row.fileId,
  disposition: row.disposition,
  url: await urlOf(ctx, origin, row),
  createdBy: row.createdBy,
  createdAt: clock.iso(row.createdAt),
  expiresAt: clock.iso(row.expiresAt),
});

export async function createLink(
  ctx: RequestContext,
  origin: string,
  fileId: string,
  request: { expiresIn: number; disposition: "attachment" | "inline" },
) {
  signingKeysOf(ctx.config);
  await changeableFile(ctx, fileId);
  const now = clock.now();
  // Seconds: a link's expiry is a whole second in its URL.
  const expiresAt = Math.floor((now + request.expiresIn * 1000) / 1000) * 1000;
  const id = newId("lnk", now);
  // One statement: the file still there and under its count of links, or no link (no race past either).
  const row = await ctx.env.DB.prepare(
    `INSERT INTO file_links (id, file_id, disposition, created_by, created_at, expires_at)
     SELECT ?1, ?2, ?3, ?4, ?5, ?6 WHERE EXISTS (SELECT 1 FROM files WHERE id = ?2)
       AND (SELECT count(*) FROM file_links WHERE file_id = ?2) < ?7
     RETURNING id`,
  )
    .bind(id, fileId, request.disposition, ctx.principal.id, now, expiresAt, MAX_LINKS_PER_FILE)
    .first();
  if (!row) {
    const exists = await ctx.env.DB.prepare("SELECT 1 FROM files WHERE id = ?").bind(fileId).first();
    if (!exists) throw new AppError("not_found", "No such file.");
    throw new AppError("conflict", `A file has at most ${MAX_LINKS_PER_FILE} links: revoke some first.`);
  }
  const link: LinkRow = {
    id,
    fileId,
    disposition: request.disposition,
    createdBy: ctx.principal.id,
    createdAt: now,
    expiresAt,
  };
  return publicLink(ctx, origin, link);
}

export async function listLinks(ctx: RequestContext, origin: string, fileId: string) {
  await ownFile(ctx, fileId);
  const rows = await database(ctx.env)
    .select()
    .from(fileLinks)
    .where(and(eq(fileLinks.fileId, fileId), gt(fileLinks.expiresAt, clock.now())))
    .orderBy(desc(fileLinks.createdAt))
    .limit(MAX_LINKS_PER_FILE);
  return { items: await Promise.all(rows.map((row) => publicLink(ctx, origin, row))) };
}

export async function revokeLink(ctx: RequestContext, fileId: string, linkId: string): Promise<void> {
  await changeableFile(ctx, fileId);
  const deleted = await database(ctx.env)
    .delete(fileLinks)
    .where(and(eq(fileLinks.id, linkId), eq(fileLinks.fileId, fileId)))
    .returning({ id: fileLinks.id });
  if (deleted.length === 0) throw new AppError("not_found", "No such link.");
}

/**
 * The file a link opens, when its signature holds, it has not expired and it still exists; a
 * link that does not is 404 whatever the reason (nothing to learn from probing).
 */
export async function fileOfLink(
  ctx: Pick<RequestContext, "env" | "config">,
  claims: Claims,
  proof: { kid: string; signature: string },
) {
  const gone = new AppError("not_found", "This link does not exist or has expired.");
  const keys = ctx.config.FILES_SIGNING_KEYS;
  if (!keys || claims.expires * 1000 <= clock.now()) throw gone;
  if (!(await verify(keys, proof.kid, proof.signature, claims))) throw gone;
  const [found] = await database(ctx.env)
    .select({ file: files, link: fileLinks })
    .from(fileLinks)
    .innerJoin(files, eq(files.id, fileLinks.fileId))
    .where(and(eq(fileLinks.id, claims.linkId), eq(fileLinks.fileId, claims.fileId)));
  if (!found || found.link.expiresAt !== claims.expires * 1000 || found.link.disposition !== claims.disposition) {
    throw gone;
  }
  return found.file;
}

/** Links past their expiry, deleted in bounded pages by the cron. */
export async function purgeExpiredLinks(env: Env, now: number, limit: number): Promise<number> {
  const { meta } = await env.DB.prepare(
    "DELETE FROM file_links WHERE id IN (SELECT id FROM file_links WHERE expires_at <= ? LIMIT ?)",
  )
    .bind(now, limit)
    .run();
  return meta.changes;
}
