import { env } from "cloudflare:test";

/** The `n` of a `SELECT count(*) AS n …` query, 0 when it finds no row. */
export const countOf = async (sql: string, ...params: unknown[]) =>
  (await env.DB.prepare(sql)
    .bind(...params)
    .first<number>("n")) ?? 0;
