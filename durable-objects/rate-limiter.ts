import { DurableObject } from "cloudflare:workers";
import { sql } from "drizzle-orm";
import { clock } from "../src/platform/clock";
import { database } from "../src/platform/db";
import {
  judge,
  refund,
  roomOf,
  tatOf,
  type Verdict,
  type Window,
  type WindowState,
} from "../src/platform/rate-limit/gcra";
import { REFUSAL_BUCKET_MS, REFUSAL_FLUSH_MS, rateLimitRefusals } from "../src/platform/rate-limit/tables";

/** The shortest sleep between two housekeeping alarms of one object. */
const ALARM_MIN_DELAY_MS = 60_000;

/**
 * One object per limit key (an API key, a user, an IP, an org, a login target): every window
 * of that key lives here, so one call decides a request. The algorithm is GCRA (see `gcra.ts`
 * for why). Exactness comes from the object itself: `decide` judges and charges in memory
 * without awaiting in between, so concurrent calls run one after another and none sees a stale
 * count. It answers only once its charge is written to SQLite (the writes of concurrent calls
 * share one commit) and the output gate has seen that commit durable, so counts survive
 * eviction and restarts.
 *
 * One alarm does the housekeeping: it adds the key's refusals to D1 (aggregated, at most
 * every `REFUSAL_FLUSH_MS`), drops windows that are full again and, once nothing is left
 * (idle past its longest window), deletes the object's storage.
 */
export class RateLimiter extends DurableObject<Env> {
  private schemaReady = false;
  /** The alarm's time as last read or set here; `undefined`: not known yet. */
  private alarmAt: number | undefined;
  /** Each window's TAT as stored (`undefined`: none); see `load`. */
  private readonly known = new Map<string, WindowState | undefined>();
  /** Windows changed in memory and not written yet, and the write they wait for. */
  private readonly dirty = new Set<string>();
  private written: Promise<void> | undefined;

  private get sql() {
    return this.ctx.storage.sql;
  }

  private ensureSchema() {
    if (this.schemaReady) return;
    // `tat` is derived (see `gcra.ts`), kept for the alarm's queries.
    this.sql.exec(`CREATE TABLE IF NOT EXISTS windows (name TEXT PRIMARY KEY, base INTEGER NOT NULL,
        count INTEGER NOT NULL, limit_value INTEGER NOT NULL, window_ms INTEGER NOT NULL, tat REAL NOT NULL);
      CREATE TABLE IF NOT EXISTS refusals (limit_key TEXT NOT NULL, bucket_start INTEGER NOT NULL,
        refused INTEGER NOT NULL, PRIMARY KEY (limit_key, bucket_start))`);
    this.schemaReady = true;
  }

  /**
   * Loads the states of `windows` into `known`. Memory mirrors storage (this object is the only
   * writer), so a busy key reads SQLite once per window per lifetime; `persist` writes changes.
   */
  private load(windows: readonly Window[]) {
    const missing = windows.map((window) => window.name).filter((name) => !this.known.has(name));
    if (missing.length === 0) return;
    for (const name of missing) this.known.set(name, undefined);
    const rows = this.sql
      .exec<{ name: string; base: number; count: number; limit_value: number; window_ms: number }>(
        `SELECT name, base, count, limit_value, window_ms FROM windows WHERE name IN (${missing.map(() => "?").join(",")})`,
        ...missing,
      )
      .toArray();
    for (const row of rows) {
      this.known.set(row.name, { base: row.base, count: row.count, limit: row.limit_value, windowMs: row.window_ms });
    }
  }

  /**
   * Writes the changed windows on the next macrotask and resolves then, so the calls that
   * arrived meanwhile share one SQLite commit (under load, one commit serves many calls).
   * Callers answer only after it: the output gate then holds the answer until it is durable.
   */
  private persist(): Promise<void> {
    this.written ??= new Promise((resolve, reject) =>
      setTimeout(() => {
        this.written = undefined;
        try {
          this.writeDirty();
          resolve();
        } catch (error) {
          reject(error);
        }
      }, 0),
    );
    return this.written;
  }

  private change(name: string, state: WindowState | undefined) {
    this.known.set(name, state);
    this.dirty.add(name);
  }

  private writeDirty() {
    for (const name of this.dirty) {
      const state = this.known.get(name);
      if (state === undefined) this.sql.exec("DELETE FROM windows WHERE name = ?", name);
      else {
        this.sql.exec(
          `INSERT INTO windows (name, base, count, limit_value, window_ms, tat) VALUES (?, ?, ?, ?, ?, ?)
           ON CONFLICT (name) DO UPDATE SET base = excluded.base, count = excluded.count,
             limit_value = excluded.limit_value, window_ms = excluded.window_ms, tat = excluded.tat`,
          name,
          state.base,
          state.count,
          state.limit,
          state.windowMs,
          tatOf(state),
        );
      }
    }
    this.dirty.clear();
  }

  /**
   * Charges one request to every window of `key`, or refuses it without charging any. With
   * `want` > 1, a lease (`leases.ts`): charges as many as fit, up to `want`, and answers how many
   * (`granted`; 0 is a refusal); `giveBack` first returns what an isolate's last lease left unused.
   */
  async decide(
    key: string,
    windows: readonly Window[],
    want = 1,
    giveBack = 0,
  ): Promise<Verdict & { granted: number }> {
    this.ensureSchema();
    const now = clock.now();
    this.load(windows);
    if (giveBack > 0) {
      for (const [name, state] of refund(windows, (name) => this.known.get(name), now, giveBack))
        this.change(name, state);
    }
    const cost = Math.max(
      1,
      Math.min(
        want,
        roomOf(windows, (name) => this.known.get(name), now),
      ),
    );
    const { verdict, updates } = judge(windows, (name) => this.known.get(name), now, cost);
    for (const [name, state] of updates) this.change(name, state);
    const written = this.dirty.size > 0 ? this.persist() : undefined;
    if (!verdict.allowed) {
      const bucket = Math.floor(now / REFUSAL_BUCKET_MS) * REFUSAL_BUCKET_MS;
      this.sql.exec(
        `INSERT INTO refusals (limit_key, bucket_start, refused) VALUES (?, ?, 1)
         ON CONFLICT (limit_key, bucket_start) DO UPDATE SET refused = refused + 1`,
        key,
        bucket,
      );
    }
    // With an alarm set (and still ahead), only a refusal can need it sooner.
    if (this.alarmAt === undefined || this.alarmAt <= now || !verdict.allowed) {
      const wake = this.nextWake(now);
      if (wake !== null) await this.wakeBy(wake);
    }
    await written;
    return { ...verdict, granted: verdict.allowed ? cost : 0 };
  }

  /** Gives back one earlier charge on each window (the request turned out not to count). */
  async refund(windows: readonly Window[]): Promise<void> {
    this.ensureSchema();
    this.load(windows);
    for (const [name, state] of refund(windows, (name) => this.known.get(name), clock.now())) this.change(name, state);
    await this.persist();
  }

  /**
   * When the alarm is next needed: soon when refusals await D1, else once every window is full
   * again, but not sooner than `ALARM_MIN_DELAY_MS` (a busy key would otherwise wake it
   * constantly); null when nothing is left.
   */
  private nextWake(now: number): number | null {
    const { pending } = this.sql.exec<{ pending: number }>("SELECT count(*) AS pending FROM refusals").one();
    if (pending > 0) return now + REFUSAL_FLUSH_MS;
    // Memory may hold charges not written yet.
    const stored = this.sql.exec<{ latest: number | null }>("SELECT max(tat) AS latest FROM windows").one().latest;
    const inMemory = [...this.known.values()].filter((state) => state !== undefined).map(tatOf);
    if (stored === null && inMemory.length === 0) return null;
    return Math.max(stored ?? 0, ...inMemory, now + ALARM_MIN_DELAY_MS);
  }

  /**
   * Sets the alarm only when none is set or it must come sooner. It reschedules itself, so in
   * steady traffic `decide` touches no alarm (reading one costs about as much as deciding).
   */
  private async wakeBy(time: number) {
    // An alarm time already past means it ran or gave up retrying: read the truth again.
    if (this.alarmAt !== undefined && this.alarmAt <= clock.now()) this.alarmAt = undefined;
    this.alarmAt ??= (await this.ctx.storage.getAlarm()) ?? undefined;
    if (this.alarmAt !== undefined && this.alarmAt <= time) return;
    this.alarmAt = time;
    await this.ctx.storage.setAlarm(time);
  }

  override async alarm(): Promise<void> {
    this.alarmAt = undefined;
    this.ensureSchema();
    await this.flushRefusals();
    if (this.dirty.size > 0) await this.persist();
    // Decisions may have run during those awaits: their windows are unwritten (dirty) and kept.
    const now = clock.now();
    this.sql.exec("DELETE FROM windows WHERE tat <= ?", now);
    for (const [name, state] of this.known) {
      if (!this.dirty.has(name) && (state === undefined || tatOf(state) <= now)) this.known.delete(name);
    }
    const wake = this.nextWake(now);
    if (wake === null && this.dirty.size === 0) {
      // Deletes the alarm too: decisions made while this alarm awaited may have set one.
      await this.ctx.storage.deleteAll();
      this.schemaReady = false;
      this.alarmAt = undefined;
    } else {
      await this.wakeBy(wake ?? now + ALARM_MIN_DELAY_MS);
    }
  }

  /**
   * Adds the pending refusal counts to D1 in one statement (on failure the alarm is retried),
   * then subtracts what was sent: refusals counted while D1 answered stay pending.
   */
  private async flushRefusals() {
    // 30 rows × 3 values stay under D1's 100 bound parameters; the rest waits for the next alarm.
    const pending = this.sql
      .exec<{ limit_key: string; bucket_start: number; refused: number }>(
        "SELECT * FROM refusals ORDER BY bucket_start LIMIT 30",
      )
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
