import { getTableColumns, getTableName, type Table } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";

/** A drizzle handle on the request's D1 binding; cheap, so made per use. */
export function database(env: Pick<Env, "DB">) {
  return drizzle(env.DB);
}

export type Database = ReturnType<typeof database>;

/**
 * The one currency of "commits in the same batch, or not at all": a D1 statement. A module that
 * lets another's write ride in its batch takes `BatchStatement[]`; drizzle queries become one
 * with `asStatement`.
 */
export type BatchStatement = D1PreparedStatement;

/** A drizzle query as a D1 statement, to batch it with hand-written SQL. */
export function asStatement(
  env: Pick<Env, "DB">,
  query: { toSQL(): { sql: string; params: unknown[] } },
): BatchStatement {
  const { sql, params } = query.toSQL();
  return env.DB.prepare(sql).bind(...params);
}

/**
 * A `RETURNING` list of every column of `table` under its drizzle name, so a hand-written
 * statement in a batch answers rows shaped like the table's `$inferSelect`.
 */
export function returningAll(table: Table): string {
  return Object.entries(getTableColumns(table))
    .map(([key, column]) => `${column.name} AS "${key}"`)
    .join(", ");
}

/**
 * One statement inserting many rows of `table` (objects keyed by its drizzle names, every
 * column given), bound as one JSON parameter: far within D1's 100 bound parameters however
 * many rows a copy batch carries. Rows that collide with one already stored are skipped.
 */
export function insertJsonRows(env: Pick<Env, "DB">, table: Table, rows: readonly object[]): BatchStatement {
  const columns = Object.entries(getTableColumns(table));
  const names = columns.map(([, column]) => `"${column.name}"`).join(", ");
  const values = columns.map(([key]) => `json_extract(value, '$.${key}')`).join(", ");
  return env.DB.prepare(
    `INSERT OR IGNORE INTO "${getTableName(table)}" (${names}) SELECT ${values} FROM json_each(?)`,
  ).bind(JSON.stringify(rows));
}

/** D1 reports a violated constraint only in its message (or its cause's, through drizzle). */
function constraintFailed(error: unknown, kind: "UNIQUE" | "CHECK", name?: string): boolean {
  const text = error instanceof Error ? `${error.message} ${String((error as { cause?: unknown }).cause ?? "")}` : "";
  return text.includes(`${kind} constraint failed${name ? `: ${name}` : ""}`);
}

/** A UNIQUE (or primary key) constraint failed: any, or on the table or column named. */
export const isUniqueViolation = (error: unknown, name?: string) => constraintFailed(error, "UNIQUE", name);
/** A CHECK constraint failed: any, or the one named. */
export const isCheckViolation = (error: unknown, name?: string) => constraintFailed(error, "CHECK", name);
