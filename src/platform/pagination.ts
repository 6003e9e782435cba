import { z } from "@hono/zod-openapi";
import { and, asc, desc, eq, gt, lt, or } from "drizzle-orm";
import type { SQLiteColumn } from "drizzle-orm/sqlite-core";
import { AppError } from "./errors";

/**
 * Cursor pagination (ARCHITECTURE.md, Lists): `limit` 1–100 (default 20) and an opaque
 * `cursor` naming the last item seen by its sort key and id, so pages stay stable while
 * rows are added.
 */

export const PaginationQuery = z
  .object({
    limit: z.coerce.number().int().min(1).max(100).default(20).openapi({ example: 20 }),
    cursor: z.string().max(512).optional().openapi({ description: "`nextCursor` of the previous page" }),
  })
  .strict();

export type Cursor = { key: number; id: string };

function encodeCursor(cursor: Cursor): string {
  return btoa(JSON.stringify([cursor.key, cursor.id]))
    .replaceAll("+", "-")
    .replaceAll("/", "_")
    .replaceAll("=", "");
}

function decodeCursor(text: string | undefined): Cursor | undefined {
  if (text === undefined) return undefined;
  try {
    const [key, id] = JSON.parse(atob(text.replaceAll("-", "+").replaceAll("_", "/"))) as unknown[];
    if (typeof key === "number" && Number.isFinite(key) && typeof id === "string" && id.length <= 64)
      return { key, id };
  } catch {
    // Falls through to the 400 below.
  }
  throw new AppError("validation_failed", "The cursor is not one this API issued.", {
    errors: [{ path: "query.cursor", message: "invalid cursor" }],
  });
}

/** Cuts one extra row fetched past `limit` into the page and the cursor that follows it. */
export function toPage<T>(rows: T[], limit: number, cursorOf: (row: T) => Cursor) {
  const items = rows.slice(0, limit);
  const last = items.at(-1);
  return { items, nextCursor: rows.length > limit && last ? encodeCursor(cursorOf(last)) : null };
}

/**
 * Keyset pagination over (sort key, id): the condition that skips to after the cursor, and
 * the matching order. Fetch `limit + 1` rows and hand them to `toPage`.
 */
export function keyset(cursorText: string | undefined, key: SQLiteColumn, id: SQLiteColumn, direction: "asc" | "desc") {
  const cursor = decodeCursor(cursorText);
  const after = direction === "asc" ? gt : lt;
  return {
    after: cursor ? or(after(key, cursor.key), and(eq(key, cursor.key), after(id, cursor.id))) : undefined,
    orderBy: direction === "asc" ? [asc(key), asc(id)] : [desc(key), desc(id)],
  };
}
