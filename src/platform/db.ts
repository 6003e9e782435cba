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
 * Rows as JSON texts of at most `maxBytes` each (D1 takes strings up to 2 MB): what statements
 * bound to one JSON parameter each (`json_each(?)`) carry, far within D1's 100 bound parameters.
 */
export function jsonChunks(rows: readonly object[], maxBytes = 1_000_000): string[] {
  const chunks: string[] = [];
  let current: string[] = [];
  let size = 2;
  for (const row of rows) {
    const text = JSON.stringify(row);
    if (current.length > 0 && size + text.length + 1 > maxBytes) {
      chunks.push(`[${current.join(",")}]`);
      current = [];
      size = 2;
    }
    current.push(text);
    size += text.length + 1;
  }
  if (current.length > 0) chunks.push(`[${current.join(",")}]`);
  return chunks;
}

/**
 * Statements inserting many rows of `table` (objects keyed by its drizzle names, every column
 * given), each bound as one JSON parameter (`jsonChunks`): one statement for most copy batches.
 * Rows that collide with one already stored are skipped.
 */
export function insertJsonRows(env: Pick<Env, "DB">, table: Table, rows: readonly object[]): BatchStatement[] {
  const columns = Object.entries(getTableColumns(table));
  const names = columns.map(([, column]) => `"${column.name}"`).join(", ");
  const values = columns.map(([key]) => `json_extract(value, '$.${key}')`).join(", ");
  const statement = env.DB.prepare(
    `INSERT OR IGNORE INTO "${getTableName(table)}" (${names}) SELECT ${values} FROM json_each(?)`,
  );
  return jsonChunks(rows).map((chunk) => statement.bind(chunk));
}

/** D1 reports a violated constraint only in its message (or its cause's, through drizzle). */
function constraintFailed(error: unknown, kind: "UNIQUE", name?: string): boolean {
  const text = error instanceof Error ? `${error.message} ${String((error as { cause?: unknown }).cause ?? "")}` : "";
  return text.includes(`${kind} constraint failed${name ? `: ${name}` : ""}`);
}

/** A UNIQUE (or primary key) constraint failed: any, or on the table or column named. */
export const isUniqueViolation = (error: unknown, name?: string) => constraintFailed(error, "UNIQUE", name);
