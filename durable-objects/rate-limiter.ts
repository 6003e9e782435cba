import { DurableObject } from "cloudflare:workers";
import { sql } from "drizzle-orm";
import { clock } from "../src/platform/clock";
import { database } from "../src/platform/db";
import { judge, refund, type Verdict, type Window } from "../src/platform/rate-limit/gcra";
import { REFUSAL_BUCKET_MS, REFUSAL_FLUSH_MS, rateLimitRefusals } from "../src/platform/rate-limit/tables";

/**
 * One object per limit key (an API key, a user, an IP, an org, a login target): every window
 * of that key lives here, so one call decides a request. The algorithm is GCRA (see
 * `gcra.ts` for why). Exactness comes from the object itself: `decide` reads, judges and
 * writes with the synchronous SQLite API and never awaits in between, so concurrent calls
 * run one after another and none sees a stale count. Its answer leaves only once the write
 * is durable (output gate), so counts survive eviction.
 *
 * One alarm does the housekeeping: it adds the key's refusals to D1 (aggregated, at most
 * every `REFUSAL_FLUSH_MS`), drops windows that are full again and, once nothing is left
 * (idle past its longest window), deletes the object's storage.
 */
export class RateLimiter extends DurableObject<Env> {
  private schemaReady = false;

  private get sql() {
    return this.ctx.storage.sql;
  }

  private ensureSchema() {
    if (this.schemaReady) return;
    this.sql.exec(`CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, tat REAL NOT NULL);
      CREATE TABLE IF NOT EXISTS refusals (limit_key TEXT NOT NULL, bucket_start INTEGER NOT NULL,
        refused INTEGER NOT NULL, PRIMARY KEY (limit_key, bucket_start))`);
    this.schemaReady = true;
  }

  private tats(windows: readonly Window[]): Map<string, number> {
    const names = windows.map((window) => window.name);
    const rows = this.sql
      .exec<{ name: string; tat: number }>(
        `SELECT name, tat FROM counters WHERE name IN (${names.map(() => "?").join(",")})`,
        ...names,
      )
      .toArray();
    return new Map(rows.map((row) => [row.name, row.tat]));
  }

  /** Charges one request to every window of `key`, or refuses it without charging any. */
  async decide(key: string, windows: readonly Window[]): Promise<Verdict> {
    this.ensureSchema();
    const now = clock.now();
    const current = this.tats(windows);
    const { verdict, updates } = judge(windows, (name) => current.get(name), now);
    for (const [name, tat] of updates) {
      this.sql.exec(
        "INSERT INTO counters (name, tat) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET tat = excluded.tat",
        name,
        tat,
      );
    }
    if (!verdict.allowed) {
      const bucket = Math.floor(now / REFUSAL_BUCKET_MS) * REFUSAL_BUCKET_MS;
      this.sql.exec(
        `INSERT INTO refusals (limit_key, bucket_start, refused) VALUES (?, ?, 1)
         ON CONFLICT (limit_key, bucket_start) DO UPDATE SET refused = refused + 1`,
        key,
        bucket,
      );
    }
    await this.scheduleAlarm(now);
    return verdict;
  }

  /** Gives back one earlier charge on each window (the request turned out not to count). */
  async refund(windows: readonly Window[]): Promise<void> {
    this.ensureSchema();
    const current = this.tats(windows);
    for (const [name, tat] of refund(windows, (name) => current.get(name), clock.now())) {
      if (tat === undefined) this.sql.exec("DELETE FROM counters WHERE name = ?", name);
      else this.sql.exec("UPDATE counters SET tat = ? WHERE name = ?", tat, name);
    }
  }

  /** Soon when refusals await D1, else when every window is full again; null: nothing left. */
  private nextWake(now: number): number | null {
    const { pending } = this.sql.exec<{ pending: number }>("SELECT count(*) AS pending FROM refusals").one();
    if (pending > 0) return now + REFUSAL_FLUSH_MS;
    return this.sql.exec<{ latest: number | null }>("SELECT max(tat) AS latest FROM counters").one().latest;
  }

  private async scheduleAlarm(now: number) {
    const wanted = this.nextWake(now);
    if (wanted === null) return;
    const scheduled = await this.ctx.storage.getAlarm();
    if (scheduled === null || scheduled > wanted) await this.ctx.storage.setAlarm(wanted);
  }

  override async alarm(): Promise<void> {
    this.ensureSchema();
    await this.flushRefusals();
    const now = clock.now();
    this.sql.exec("DELETE FROM counters WHERE tat <= ?", now);
    const wake = this.nextWake(now);
    if (wake === null) {
      await this.ctx.storage.deleteAll();
      this.schemaReady = false;
    } else {
      await this.ctx.storage.setAlarm(wake);
    }
  }

  /**
   * Adds the pending refusal counts to D1 in one statement (on failure the alarm is retried),
   * then subtracts what was sent: refusals counted while D1 answered stay pending.
   */
  private async flushRefusals() {
    const pending = this.sql
      .exec<{ limit_key: string; bucket_start: number; refused: number }>("SELECT * FROM refusals")
      .toArray();
    if (pending.length === 0) return;
    await database(this.env)
      .insert(rateLimitRefusals)
      .values(pending.map((row) => ({ limitKey: row.limit_key, bucketStart: row.bucket_start, refused: row.refused })))
      .onConflictDoUpdate({
        target: [rateLimitRefusals.limitKey, rateLimitRefusals.bucketStart],
        set: { refused: sql`${rateLimitRefusals.refused} + excluded.refused` },
      });
    for (const row of pending) {
      this.sql.exec(
        "UPDATE refusals SET refused = refused - ? WHERE limit_key = ? AND bucket_start = ?",
        row.refused,
        row.limit_key,
        row.bucket_start,
      );
    }
    this.sql.exec("DELETE FROM refusals WHERE refused <= 0");
  }
}
