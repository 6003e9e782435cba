import { DurableObject } from "cloudflare:workers";
import { clock, DAY_MS } from "../../../platform/clock";
import type { StoredAnswer } from "../../../platform/context";
import { Book, Refused } from "./book";
import { claimKey, forgetExpiredKeys, keepAnswer } from "./keys";
import { appliedBeforeWallet, takeSnapshot } from "./migration";
import { confirm, markSent, nextMessage, outboxDue, resendStale } from "./outbox";
import type {
  Balances,
  Budget,
  CounterMetric,
  GrantAnswer,
  GrantInput,
  HoldAnswer,
  HoldInput,
  IncludedPeriod,
  Refusal,
  SettleAnswer,
  SettleInput,
  WalletRecord,
} from "./protocol";

/** Closed holds are kept this long: a late settlement or a retried reference still finds them. */
const CLOSED_HOLDS_KEPT_MS = 2 * DAY_MS;
/** The most messages one alarm sends: a backlog goes over several alarms, never in one long burst. */
const MAX_MESSAGES_PER_FLUSH = 20;
/** When shipping to the copy queue fails, the alarm tries again this much later. */
const SHIP_RETRY_MS = 10_000;

/**
 * `AccountWallet`: one paying account's credits (ARCHITECTURE.md, Money). Every method runs its
 * operation in one synchronous SQLite transaction of `Book`, so operations of one account run
 * one after another, exactly; a refusal rolls its operation back and is answered as a value.
 * Its one alarm expires holds and included periods when they are due and ships the outbox to
 * the copy queue (at most `FLUSH_AFTER_MS` after a row is written, at once past `MAX_ROWS`).
 */
export class AccountWallet extends DurableObject<Env> {
  private readonly book = new Book(this.ctx.storage.sql);
  private schemaReady = false;
  /** The account this wallet belongs to, once known. */
  private owner: string | null = null;
  /** The alarm's time as last set here; `undefined`: not read yet. */
  private alarmAt: number | null | undefined;
  /** Set when the account was deleted and the wallet drains before its storage goes. */
  private closing = false;

  /** Runs `operation` in a transaction for `accountId`, then makes sure the alarm will ship its rows. */
  private async run<T>(accountId: string, operation: (book: Book, now: number) => T): Promise<T | Refusal> {
    await this.opened(accountId);
    if (this.closing) throw new Error(`the wallet of ${accountId} is closing: its account was deleted`);
    let result: T;
    try {
      result = this.ctx.storage.transactionSync(() => operation(this.book, clock.now()));
    } catch (error) {
      if (error instanceof Refused) return error.refusal;
      throw error;
    }
    await this.schedule();
    return result;
  }

  /**
   * The wallet's account. On the first touch of a fresh wallet, nothing else runs until the
   * account's pre-wallet credits have moved in from D1 (`migration.ts`).
   */
  private async open(accountId: string): Promise<string> {
    const known = this.ownerInStorage();
    if (known !== null) return known;
    const owner = await this.ctx.blockConcurrencyWhile(async () => {
      const again = this.ownerInStorage();
      if (again !== null) return again;
      // Read first: a deleted account's wallet must not come back, not even as empty tables.
      const snapshot = await takeSnapshot(this.env.DB, accountId, clock.now());
      if (snapshot === "deleted") return null;
      this.ctx.storage.transactionSync(() => {
        this.ready().claim(accountId);
        this.book.adopt(accountId, snapshot, clock.now());
      });
      return accountId;
    });
    // Thrown out here: an error inside blockConcurrencyWhile would reset the object.
    if (owner === null) throw new Error(`account ${accountId} was deleted`);
    return owner;
  }

  /** Makes sure the wallet is open for `accountId` (moving its credits in on the first touch). */
  private async opened(accountId: string): Promise<void> {
    this.owner ??= await this.open(accountId);
    if (this.owner !== accountId) throw new Error(`this wallet belongs to ${this.owner}, not ${accountId}`);
  }

  /** The account of a wallet that has storage, or null for a fresh one. */
  private ownerInStorage(): string | null {
    if (!this.schemaReady) {
      const tables = this.ctx.storage.sql.exec("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'state'");
      if (tables.toArray().length === 0) return null;
    }
    return this.ready().accountId();
  }

  private ready(): Book {
    if (!this.schemaReady) this.book.ensureSchema();
    this.schemaReady = true;
    return this.book;
  }

  /** Sets the alarm to the earliest of: shipping unsent rows, the next deadline. */
  private async schedule(): Promise<void> {
    const { ship, resend } = outboxDue(this.ctx.storage.sql, clock.now());
    const due = [ship, resend, this.book.nextDeadline()].filter((at): at is number => at !== null);
    if (due.length === 0) return;
    const at = Math.min(...due);
    this.alarmAt ??= await this.ctx.storage.getAlarm();
    if (this.alarmAt !== null && this.alarmAt <= at) return;
    this.alarmAt = at;
    await this.ctx.storage.setAlarm(at);
  }

  /** A hold, with the request's key claimed in the same step (a repeat gets its kept answer instead). */
  async hold(input: HoldInput): Promise<HoldAnswer> {
    const answer = await this.run(input.accountId, (book, now) => {
      const kept = input.idempotency ? claimKey(this.ctx.storage.sql, input.idempotency, input.reference, now) : null;
      return kept ? ({ ok: "kept", answer: kept } as const) : ({ ok: true, hold: book.hold(input, now) } as const);
    });
    return answer;
  }

  /** Keeps the answer to a key claimed with a hold, or (null) lets the key go. */
  async keepAnswer(accountId: string, principalId: string, key: string, answer: StoredAnswer | null): Promise<void> {
    await this.run(accountId, () => keepAnswer(this.ctx.storage.sql, principalId, key, answer));
  }

  async settle(input: SettleInput): Promise<SettleAnswer> {
    const answer = await this.run(input.accountId, (book, now) => book.settle(input, now));
    return "ok" in answer ? answer : { ok: true, ...answer };
  }

  /** Gives back what a counter-only take counted, once. */
  async uncount(accountId: string, reference: string): Promise<void> {
    await this.run(accountId, (book) => book.uncount(reference));
  }

  /** Ships records of work that held nothing (charged 0). */
  async record(accountId: string, records: WalletRecord[]): Promise<void> {
    await this.run(accountId, (book, now) => book.record(records, 0, now));
  }

  /** A grant once per reference, here or (a redelivery after migration) in the pre-wallet ledger. */
  async grant(input: GrantInput): Promise<GrantAnswer> {
    // After the move: from then on D1 refuses the old version's writes, so what it says is final.
    await this.opened(input.accountId);
    const before = await appliedBeforeWallet(this.env.DB, input.accountId, input.reference);
    const answer = await this.run(input.accountId, (book, now) => {
      if (before || book.hasReference(input.reference)) return { applied: false, entry: null };
      return { applied: true, entry: book.grant(input, now) };
    });
    return "ok" in answer ? answer : { ok: true, ...answer };
  }

  async grantIncluded(accountId: string, period: IncludedPeriod): Promise<boolean> {
    const answer = await this.run(accountId, (book, now) => book.grantIncluded(accountId, period, now));
    return answer === true;
  }

  async clawBack(accountId: string, sessionId: string, target: number) {
    const answer = await this.run(accountId, (book, now) => book.clawBack(sessionId, target, now));
    if ("ok" in answer) throw new Error(answer.detail);
    return answer;
  }

  async balance(accountId: string): Promise<Balances> {
    const answer = await this.run(accountId, (book) => book.balances());
    if ("ok" in answer) throw new Error(answer.detail);
    return answer;
  }

  /** What budgets have left and counters have used in the periods given. */
  async status(
    accountId: string,
    query: { budgets?: Budget[]; counters?: { metric: CounterMetric; periodStart: number }[] },
  ) {
    const answer = await this.run(accountId, (book, now) => ({
      budgets: (query.budgets ?? []).map((budget) => ({ key: budget.key, left: book.budgetLeft(budget, now) })),
      counters: (query.counters ?? []).map((counter) => ({
        ...counter,
        used: book.counterUsed(counter.metric, counter.periodStart),
      })),
    }));
    if ("ok" in answer) throw new Error(answer.detail);
    return answer;
  }

  /** The copy holds every row through `through` (and misses `resendFrom`, when given). */
  async confirm(accountId: string, through: number, resendFrom: number | null = null): Promise<void> {
    await this.run(accountId, () => confirm(this.ctx.storage.sql, through, resendFrom));
  }

  /**
   * The account was deleted: what the outbox still holds goes to the copy, then the wallet's
   * storage goes (D1 marks it deleted, so it never opens again).
   */
  async close(accountId: string): Promise<void> {
    if (this.ownerInStorage() !== accountId) return;
    // No operation runs from now on: nothing can add to the outbox while it drains.
    this.closing = true;
    await this.flush(true);
    await this.ctx.storage.deleteAlarm();
    await this.ctx.storage.deleteAll();
    this.owner = null;
    this.schemaReady = false;
    this.alarmAt = undefined;
  }

  /**
   * Ships what waits now (the alarm's work), at most `MAX_MESSAGES_PER_FLUSH` messages; with
   * `everything`, also what was sent and not confirmed (a wallet that closes). Answers how many left.
   */
  async flush(everything = false): Promise<number> {
    const accountId = this.ownerInStorage();
    if (!accountId) return 0;
    if (everything) this.ctx.storage.sql.exec("UPDATE outbox SET sent_at = NULL");
    let sent = 0;
    for (let message = nextMessage(this.ctx.storage.sql, accountId); message; ) {
      await this.env.WALLET_COPY.send(message, { contentType: "json" });
      markSent(this.ctx.storage.sql, message, clock.now());
      sent += 1;
      if (!everything && sent >= MAX_MESSAGES_PER_FLUSH) break;
      message = nextMessage(this.ctx.storage.sql, accountId);
    }
    // What was sent goes again if no confirmation comes; what was left goes on the next alarm.
    if (sent > 0 && !this.closing) await this.schedule();
    return sent;
  }

  override async alarm(): Promise<void> {
    this.alarmAt = null;
    const accountId = this.ownerInStorage();
    if (!accountId) return;
    const now = clock.now();
    this.ctx.storage.transactionSync(() => {
      this.book.expireHolds(now);
      this.book.expireEndedGrants(now);
      this.book.forgetClosed(now - CLOSED_HOLDS_KEPT_MS);
      forgetExpiredKeys(this.ctx.storage.sql, now);
    });
    resendStale(this.ctx.storage.sql, now);
    try {
      await this.flush();
    } catch {
      this.alarmAt = clock.now() + SHIP_RETRY_MS;
      await this.ctx.storage.setAlarm(this.alarmAt);
      return;
    }
    await this.schedule();
  }
}
