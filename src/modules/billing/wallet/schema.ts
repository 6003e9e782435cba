/**
 * The wallet's SQLite schema. Balances count settled money (a balance is the sum of its
 * ledger); `held` is what open holds keep of it, so what can be spent is `balance - held`,
 * never negative (CHECK). Every ledger row, counter change and module record takes the next
 * number of one sequence and waits in `outbox` until the D1 copy confirms it.
 */
export const WALLET_SCHEMA = `
CREATE TABLE IF NOT EXISTS state (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  account_id TEXT NOT NULL,
  next_seq INTEGER NOT NULL,
  confirmed_seq INTEGER NOT NULL,
  migrated_at INTEGER,
  -- What open holds kept of the included credits when their period last expired, and when.
  included_expiring INTEGER NOT NULL DEFAULT 0,
  included_expired_at INTEGER
);
CREATE TABLE IF NOT EXISTS balances (
  bucket TEXT PRIMARY KEY CHECK (bucket IN ('included', 'purchased')),
  balance INTEGER NOT NULL,
  held INTEGER NOT NULL,
  CHECK (held >= 0 AND balance >= held)
);
CREATE TABLE IF NOT EXISTS ledger (
  seq INTEGER PRIMARY KEY,
  id TEXT NOT NULL,
  bucket TEXT NOT NULL,
  amount INTEGER NOT NULL CHECK (amount <> 0),
  reason TEXT NOT NULL,
  reference TEXT NOT NULL UNIQUE,
  balance_after INTEGER NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS holds (
  id TEXT PRIMARY KEY,
  reference TEXT NOT NULL UNIQUE,
  amount INTEGER NOT NULL,
  from_included INTEGER NOT NULL,
  from_purchased INTEGER NOT NULL,
  budget_key TEXT,
  budget_period_start INTEGER,
  counter_metric TEXT,
  counter_period_start INTEGER,
  counter_amount INTEGER,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  closed_kind TEXT CHECK (closed_kind IN ('settled', 'released', 'expired')),
  charged INTEGER,
  shortfall INTEGER,
  late_charged INTEGER,
  closed_at INTEGER,
  CHECK (from_included >= 0 AND from_purchased >= 0 AND from_included + from_purchased = amount AND amount > 0)
);
CREATE INDEX IF NOT EXISTS holds_open ON holds (expires_at) WHERE closed_at IS NULL;
CREATE INDEX IF NOT EXISTS holds_closed ON holds (closed_at) WHERE closed_at IS NOT NULL;
CREATE TABLE IF NOT EXISTS budgets (
  budget_key TEXT NOT NULL,
  period_start INTEGER NOT NULL,
  used INTEGER NOT NULL CHECK (used >= 0),
  limit_value INTEGER NOT NULL,
  PRIMARY KEY (budget_key, period_start)
);
CREATE TABLE IF NOT EXISTS counters (
  metric TEXT NOT NULL,
  period_start INTEGER NOT NULL,
  used INTEGER NOT NULL CHECK (used >= 0),
  limit_value INTEGER NOT NULL,
  PRIMARY KEY (metric, period_start)
);
CREATE TABLE IF NOT EXISTS counted (
  reference TEXT PRIMARY KEY,
  metric TEXT NOT NULL,
  period_start INTEGER NOT NULL,
  amount INTEGER NOT NULL,
  returned INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS counted_created ON counted (created_at);
CREATE TABLE IF NOT EXISTS grants (
  reference TEXT PRIMARY KEY,
  plan_id TEXT NOT NULL,
  period_start INTEGER NOT NULL,
  period_end INTEGER NOT NULL,
  amount INTEGER NOT NULL,
  expired_at INTEGER
);
CREATE TABLE IF NOT EXISTS clawbacks (
  session_id TEXT PRIMARY KEY,
  requested INTEGER NOT NULL,
  clawed INTEGER NOT NULL,
  shortfall INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS idempotency (
  principal_id TEXT NOT NULL,
  key TEXT NOT NULL,
  request_hash TEXT NOT NULL,
  hold_reference TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('in_flight', 'completed')),
  status INTEGER,
  headers TEXT,
  body TEXT,
  locked_until INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  PRIMARY KEY (principal_id, key)
);
CREATE INDEX IF NOT EXISTS idempotency_expires ON idempotency (expires_at);
CREATE TABLE IF NOT EXISTS outbox (
  seq INTEGER PRIMARY KEY,
  kind TEXT NOT NULL,
  body TEXT NOT NULL,
  sent_at INTEGER
);
CREATE INDEX IF NOT EXISTS outbox_unsent ON outbox (seq) WHERE sent_at IS NULL;
CREATE INDEX IF NOT EXISTS outbox_sent ON outbox (sent_at) WHERE sent_at IS NOT NULL;
`;
