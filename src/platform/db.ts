import { drizzle } from "drizzle-orm/d1";

/** A drizzle handle on the request's D1 binding; cheap, so made per use. */
export function database(env: Pick<Env, "DB">) {
  return drizzle(env.DB);
}

export type Database = ReturnType<typeof database>;

/** D1 reports a violated UNIQUE constraint only in its message. */
export function isUniqueViolation(error: unknown): boolean {
  const text = error instanceof Error ? `${error.message} ${String((error as { cause?: unknown }).cause ?? "")}` : "";
  return text.includes("UNIQUE constraint failed");
}
