import { z } from "@hono/zod-openapi";
import { and, eq, lte } from "drizzle-orm";
import type { Context, Next } from "hono";
import { createMiddleware } from "hono/factory";
import { clock } from "../clock";
import type { AppEnv, SpendKey, StoredAnswer } from "../context";
import { sha256Hex } from "../crypto";
import { type Database, database } from "../db";
import { AppError } from "../errors";
import { describeError } from "../logger";
import { idempotencyKeys } from "./tables";

/**
 * `Idempotency-Key` (ARCHITECTURE.md, Conventions): per principal and key, the first request
 * claims the key and its answer is stored for 24 h; a repeat with the same body gets that
 * answer again (`Idempotent-Replayed: true`), a different body or a repeat while the first
 * is still running gets 409. Server errors, 409 and 429 are not stored, so a retry runs
 * again. Only JSON answers are kept: a stream or a download is never buffered, and a repeat
 * of one answers 409.
 */

export const IDEMPOTENCY_TTL_MS = 24 * 60 * 60 * 1000;
/** How long an in-flight claim holds before a repeat may take it over. */
export const IDEMPOTENCY_LOCK_MS = 5 * 60 * 1000;
/** Answers larger than this are not kept (D1 rows stay small); a repeat then gets 409. */
const MAX_STORED_BODY_BYTES = 256 * 1024;
/** Headers of the first answer that a replay carries too. */
const REPLAYED_HEADERS = ["content-type", "location", "cache-control", "retry-after"];
const JSON_ANSWER = /^application\/([\w.-]+\+)?json\s*(;|$)/i;

const IdempotencyKeySchema = z
  .string()
  .regex(/^[\x21-\x7e]{1,255}$/, "must be 1 to 255 visible ASCII characters")
  .openapi({ description: "Makes a retry safe: the same key and body within 24 h gets the first answer." });

export const IdempotencyKeyHeader = z.object({ "idempotency-key": IdempotencyKeySchema.optional() });

type Claim = { lockedUntil: number };

/** Method, path, query and the body's bytes (binary bodies too, e.g. multipart uploads). */
async function requestHash(c: Context<AppEnv>): Promise<string> {
  const url = new URL(c.req.url);
  const body = c.req.raw.body ? await sha256Hex(await c.req.arrayBuffer()) : "";
  return sha256Hex(`${c.req.method} ${url.pathname}${url.search}\n${body}`);
}

/** Claims the key: a new row, or replacing an expired one, in one statement. */
async function claimFresh(db: Database, principalId: string, key: string, hash: string, now: number) {
  const lockedUntil = now + IDEMPOTENCY_LOCK_MS;
  const fresh = {
    requestHash: hash,
    state: "in_flight" as const,
    responseStatus: null,
    responseHeaders: null,
    responseBody: null,
    lockedUntil,
    createdAt: now,
    expiresAt: now + IDEMPOTENCY_TTL_MS,
  };
  const rows = await db
    .insert(idempotencyKeys)
    .values({ principalId, key, ...fresh })
    .onConflictDoUpdate({
      target: [idempotencyKeys.principalId, idempotencyKeys.key],
      set: fresh,
      setWhere: lte(idempotencyKeys.expiresAt, now),
    })
    .returning({ lockedUntil: idempotencyKeys.lockedUntil });
  return rows[0];
}

/** Takes over an abandoned in-flight claim; only one concurrent repeat wins. */
async function takeOver(db: Database, principalId: string, key: string, staleLock: number, now: number) {
  const rows = await db
    .update(idempotencyKeys)
    .set({ lockedUntil: now + IDEMPOTENCY_LOCK_MS })
    .where(
      and(
        eq(idempotencyKeys.principalId, principalId),
        eq(idempotencyKeys.key, key),
        eq(idempotencyKeys.state, "in_flight"),
        eq(idempotencyKeys.lockedUntil, staleLock),
      ),
    )
    .returning({ lockedUntil: idempotencyKeys.lockedUntil });
  return rows[0];
}

/** A repeat gets the kept answer again; one that was not kept (a stream, too large) is 409. */
export function replayOf(answer: StoredAnswer): Response {
  if (answer.body === null) {
    throw new AppError(
      "idempotency_key_reused",
      "The first answer to this key was not JSON or too large to keep; it is not replayed. Use a new key.",
    );
  }
  const headers = new Headers(answer.headers);
  headers.set("Idempotent-Replayed", "true");
  return new Response(answer.body, { status: answer.status, headers });
}

/**
 * What to keep of an answer: null when the key should go (server errors, 409 and 429, so a
 * retry runs again); the body only when it is JSON and small enough.
 */
async function storedAnswerOf(response: Response): Promise<StoredAnswer | null> {
  const status = response.status;
  if (status >= 500 || status === 409 || status === 429) return null;
  let body: string | null = null;
  if (JSON_ANSWER.test(response.headers.get("content-type") ?? "")) {
    const text = await response.clone().text();
    body = new TextEncoder().encode(text).byteLength <= MAX_STORED_BODY_BYTES ? text : null;
  }
  const headers: Record<string, string> = {};
  for (const name of REPLAYED_HEADERS) {
    const value = response.headers.get(name);
    if (value !== null) headers[name] = value;
  }
  return { status, headers, body };
}

async function settle(db: Database, principalId: string, key: string, claim: Claim, response: Response) {
  const where = and(
    eq(idempotencyKeys.principalId, principalId),
    eq(idempotencyKeys.key, key),
    eq(idempotencyKeys.lockedUntil, claim.lockedUntil),
  );
  const answer = await storedAnswerOf(response);
  if (!answer) {
    await db.delete(idempotencyKeys).where(where);
    return;
  }
  await db
    .update(idempotencyKeys)
    .set({
      state: "completed",
      responseStatus: answer.status,
      responseHeaders: JSON.stringify(answer.headers),
      responseBody: answer.body,
    })
    .where(where);
}

/**
 * A repeat of a request whose answer was kept with its spend: thrown by the spender where it
 * would have spent, answered by the error handler with the kept answer.
 */
export class KeptAnswer extends Error {
  constructor(readonly answer: StoredAnswer) {
    super("a repeat of a request with a kept answer");
  }
}

/**
 * Where a route's keys are kept: `d1` (claimed here before the handler runs), or `spend`: the
 * claim rides with the request's spend, in the same call to the account's wallet (the hot
 * routes make no D1 write before their first byte), and a repeat is answered where it would
 * have spent (`KeptAnswer`). A `spend` route that never spends keeps nothing: a retry runs again.
 */
export function idempotency(keptWith: "d1" | "spend" = "d1") {
  return createMiddleware<AppEnv>(async (c, next) => {
    const header = c.req.header("idempotency-key");
    if (header === undefined) return next();
    const parsed = IdempotencyKeySchema.safeParse(header);
    if (!parsed.success) {
      throw new AppError("validation_failed", "The Idempotency-Key header is invalid.", {
        errors: [{ path: "header.idempotency-key", message: parsed.error.issues[0]?.message ?? "invalid" }],
      });
    }
    const principal = c.get("principal");
    if (!principal) throw new AppError("unauthorized", "An Idempotency-Key needs an authenticated request.");

    const key = parsed.data;
    const hash = await requestHash(c);
    if (keptWith === "spend") return keepWithSpend(c, next, { principalId: principal.id, key, hash });
    const db = database(c.env);
    const now = clock.now();
    const where = and(eq(idempotencyKeys.principalId, principal.id), eq(idempotencyKeys.key, key));
    let claim: Claim | undefined = await claimFresh(db, principal.id, key, hash, now);
    if (!claim) {
      const [row] = await db.select().from(idempotencyKeys).where(where);
      // Gone between the two statements: the first request failed and released it.
      if (!row) claim = await claimFresh(db, principal.id, key, hash, now);
      else if (row.requestHash !== hash) {
        throw new AppError("idempotency_key_reused", "This Idempotency-Key was used with a different request.");
      } else if (row.state === "completed") {
        return replayOf({
          status: row.responseStatus ?? 200,
          headers: JSON.parse(row.responseHeaders ?? "{}") as Record<string, string>,
          body: row.responseStatus === null ? null : row.responseBody,
        });
      } else if (row.lockedUntil <= now) claim = await takeOver(db, principal.id, key, row.lockedUntil, now);
      if (!claim) {
        throw new AppError("idempotency_key_in_use", "A request with this Idempotency-Key is still in progress.", {
          headers: { "Retry-After": "1" },
        });
      }
    }
    await next();
    try {
      await settle(db, principal.id, key, claim, c.res);
    } catch (error) {
      // The work is done: its answer must reach the client. The claim then lapses after
      // IDEMPOTENCY_LOCK_MS, the one window in which a retry could run the work again.
      c.get("logger").error("idempotency answer not stored", { ...describeError(error), key });
    }
  });
}

async function keepWithSpend(c: Context<AppEnv>, next: Next, spendKey: SpendKey) {
  c.set("spendKey", spendKey);
  // A repeat throws `KeptAnswer` where it would have spent; the error handler answers it.
  await next();
  const settle = spendKey.settle;
  if (!settle) return;
  // After the answer: a repeat arriving meanwhile finds the key in flight (409, Retry-After).
  const kept = storedAnswerOf(c.res).then(settle);
  c.executionCtx.waitUntil(
    kept.catch((error: unknown) =>
      c.get("logger").error("idempotency answer not kept", { ...describeError(error), key: spendKey.key }),
    ),
  );
}

/** Cron task body: deletes expired keys, a bounded number per run. */
export async function purgeExpiredIdempotencyKeys(env: Pick<Env, "DB">, now: number, limit = 1000): Promise<number> {
  const result = await env.DB.prepare(
    "DELETE FROM idempotency_keys WHERE rowid IN (SELECT rowid FROM idempotency_keys WHERE expires_at <= ? LIMIT ?)",
  )
    .bind(now, limit)
    .run();
  return result.meta.changes;
}
