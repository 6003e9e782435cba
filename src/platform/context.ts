import type { Config } from "../env";
import type { Logger } from "./logger";

/**
 * Who a request acts as, set by authentication (src/middleware/auth.ts, which asks identity):
 * a user signed in with an access token (`via: "session"`) or through one of their API keys.
 */
export type Principal = {
  /** The user's id, whichever credential was presented. */
  id: string;
  via: "session" | "api_key";
  /** The platform role; API keys never carry `admin` (ARCHITECTURE.md, Auth). */
  platformRole: "user" | "admin";
  sessionId?: string;
  /** For an API key: its id, scopes and, for an org key, the org it is bound to. */
  keyId?: string;
  scopes?: readonly string[];
  keyOrgId?: string;
  /** For an API key with a spending cap: millicredits per calendar month. */
  keyMonthlyBudget?: number;
};

/**
 * The billing account a request acts for (ARCHITECTURE.md, Account context): an org-bound
 * key's org, else the org named by X-Stratus-Org / OpenAI-Organization, else the caller.
 */
export type Account = { type: "user"; id: string } | { type: "org"; id: string; role: string };

/** Who does something, as services record it (audit entries, `createdBy`). */
export type Actor = { userId: string; requestId?: string };

/**
 * What every entry point (a request, a queue batch, a cron run) gives the code it runs: the
 * bindings, the configuration parsed once from them, and a logger. `configOf(env)` is read at
 * entry points only; services receive the parsed config through this.
 */
export type Runtime = { env: Env; config: Config; logger: Logger };

/** The bindings and their configuration: what a service that neither logs nor acts for anyone needs. */
export type Configured = Pick<Runtime, "env" | "config">;

/**
 * What a service needs of the request it runs for, without Hono: its bindings and parsed
 * configuration, its logger, who asks and for which account. Built once per request by
 * `requestContextOf` (src/middleware/auth.ts); services receive it rather than reading `env`.
 */
export type RequestContext = Runtime & {
  /** The request's id (`x-request-id`), which a client may choose. */
  requestId: string;
  principal: Principal;
  account: Account;
  /** Work that outlives the answer (a settlement, a cache write). */
  waitUntil(promise: Promise<unknown>): void;
  /** Reports a step's time as a `Server-Timing` metric of the answer (`hold`, `upstream`). */
  timing(metric: string, ms: number): void;
  /** The request's `Idempotency-Key`, on a route whose key is claimed with its spend (`SpendKey`). */
  spendKey?: SpendKey;
};

/**
 * An `Idempotency-Key` claimed together with the request's spend, by whoever keeps the
 * account's credits (one call, no D1 write: ARCHITECTURE.md, Money): who asked, the key, the
 * request's hash. The claimer sets `settle`, which the idempotency middleware calls with the
 * answer to keep (or null to let the key go).
 */
export type SpendKey = {
  principalId: string;
  key: string;
  hash: string;
  settle?: (answer: StoredAnswer | null) => Promise<void>;
};

/** An answer kept for an `Idempotency-Key`: replayed to a repeat of the same request. */
export type StoredAnswer = { status: number; headers: Record<string, string>; body: string | null };

/** The typed Hono environment every router and middleware shares. */
export type AppEnv = {
  Bindings: Env;
  Variables: {
    requestId: string;
    config: Config;
    logger: Logger;
    principal?: Principal;
    account?: Account;
    spendKey?: SpendKey;
  };
};
