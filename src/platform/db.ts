import { drizzle } from "drizzle-orm/d1";

/** A drizzle handle on the request's D1 binding; cheap, so made per use. */
export function database(env: Pick<Env, "DB">) {
  return drizzle(env.DB);
}

export type Database = ReturnType<typeof database>;
