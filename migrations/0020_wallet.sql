CREATE TABLE `wallet_copies` (
	`account_id` text PRIMARY KEY NOT NULL,
	`through` integer NOT NULL,
	`checkpoint_seq` integer NOT NULL,
	`checkpoint_included` integer NOT NULL,
	`checkpoint_purchased` integer NOT NULL,
	`verified_seq` integer NOT NULL,
	`gaps` integer NOT NULL,
	`mismatches` integer NOT NULL,
	`updated_at` integer NOT NULL,
	`deleted_at` integer
);
--> statement-breakpoint
CREATE TABLE `wallet_copy_ranges` (
	`account_id` text NOT NULL,
	`first_seq` integer NOT NULL,
	`last_seq` integer NOT NULL,
	`received_at` integer NOT NULL,
	PRIMARY KEY(`account_id`, `first_seq`, `last_seq`)
);
--> statement-breakpoint
CREATE TABLE `wallet_counter_copies` (
	`account_id` text NOT NULL,
	`metric` text NOT NULL,
	`period_start` integer NOT NULL,
	`used` integer NOT NULL,
	`limit_value` integer NOT NULL,
	`seq` integer NOT NULL,
	PRIMARY KEY(`account_id`, `metric`, `period_start`)
);
--> statement-breakpoint
CREATE TABLE `wallet_migrations` (
	`account_id` text PRIMARY KEY NOT NULL,
	`migrated_at` integer NOT NULL,
	`deleted_at` integer
);
--> statement-breakpoint
CREATE TABLE `translation_usage` (
	`id` text PRIMARY KEY NOT NULL,
	`account_id` text NOT NULL,
	`provider` text NOT NULL,
	`characters` integer NOT NULL,
	`cached_characters` integer NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `translation_usage_account` ON `translation_usage` (`account_id`,`created_at`);--> statement-breakpoint
CREATE INDEX `translation_usage_created` ON `translation_usage` (`created_at`);--> statement-breakpoint
-- The daily sums kept before become one row per account, day and provider (the old table stays
-- until the previous version is gone: a later release drops it).
INSERT INTO `translation_usage` (`id`, `account_id`, `provider`, `characters`, `cached_characters`, `created_at`)
SELECT 'day:' || `account_id` || ':' || `day` || ':' || `provider`, `account_id`, `provider`, `characters`, `cached_characters`, `day`
FROM `translation_stats`;--> statement-breakpoint
DROP INDEX `credit_ledger_reference_unique`;--> statement-breakpoint
ALTER TABLE `credit_ledger` ADD `seq` integer;--> statement-breakpoint
CREATE UNIQUE INDEX `credit_ledger_account_seq` ON `credit_ledger` (`account_id`,`seq`);--> statement-breakpoint
CREATE INDEX `credit_ledger_account_bucket_seq` ON `credit_ledger` (`account_id`,`bucket`,`seq`);--> statement-breakpoint
CREATE UNIQUE INDEX `credit_ledger_account_reference` ON `credit_ledger` (`account_id`,`reference`);--> statement-breakpoint
-- Once an account's credits live in its wallet, the pre-wallet tables refuse every write of it
-- (a stale writer of the previous version fails loudly and is retried against the wallet).
-- The wallets' own copy (credit_ledger rows with a seq) is written on.
CREATE TRIGGER `credit_balances_insert_wallet_migrated` BEFORE INSERT ON `credit_balances`
WHEN EXISTS (SELECT 1 FROM wallet_migrations WHERE account_id = NEW.account_id)
BEGIN
  SELECT RAISE(ABORT, 'wallet_migrated: this account''s credits live in its wallet');
END;
--> statement-breakpoint
CREATE TRIGGER `credit_balances_update_wallet_migrated` BEFORE UPDATE ON `credit_balances`
WHEN EXISTS (SELECT 1 FROM wallet_migrations WHERE account_id = NEW.account_id)
BEGIN
  SELECT RAISE(ABORT, 'wallet_migrated: this account''s credits live in its wallet');
END;
--> statement-breakpoint
CREATE TRIGGER `credit_holds_insert_wallet_migrated` BEFORE INSERT ON `credit_holds`
WHEN EXISTS (SELECT 1 FROM wallet_migrations WHERE account_id = NEW.account_id)
BEGIN
  SELECT RAISE(ABORT, 'wallet_migrated: this account''s credits live in its wallet');
END;
--> statement-breakpoint
CREATE TRIGGER `credit_hold_closures_insert_wallet_migrated` BEFORE INSERT ON `credit_hold_closures`
WHEN EXISTS (SELECT 1 FROM wallet_migrations WHERE account_id = (SELECT account_id FROM credit_holds WHERE id = NEW.hold_id))
BEGIN
  SELECT RAISE(ABORT, 'wallet_migrated: this account''s credits live in its wallet');
END;
--> statement-breakpoint
CREATE TRIGGER `credit_budget_usage_insert_wallet_migrated` BEFORE INSERT ON `credit_budget_usage`
WHEN EXISTS (SELECT 1 FROM wallet_migrations WHERE account_id = NEW.account_id)
BEGIN
  SELECT RAISE(ABORT, 'wallet_migrated: this account''s credits live in its wallet');
END;
--> statement-breakpoint
CREATE TRIGGER `credit_budget_usage_update_wallet_migrated` BEFORE UPDATE ON `credit_budget_usage`
WHEN EXISTS (SELECT 1 FROM wallet_migrations WHERE account_id = NEW.account_id)
BEGIN
  SELECT RAISE(ABORT, 'wallet_migrated: this account''s credits live in its wallet');
END;
--> statement-breakpoint
CREATE TRIGGER `included_credit_grants_insert_wallet_migrated` BEFORE INSERT ON `included_credit_grants`
WHEN EXISTS (SELECT 1 FROM wallet_migrations WHERE account_id = NEW.account_id)
BEGIN
  SELECT RAISE(ABORT, 'wallet_migrated: this account''s credits live in its wallet');
END;
--> statement-breakpoint
CREATE TRIGGER `included_credit_grants_update_wallet_migrated` BEFORE UPDATE ON `included_credit_grants`
WHEN EXISTS (SELECT 1 FROM wallet_migrations WHERE account_id = NEW.account_id)
BEGIN
  SELECT RAISE(ABORT, 'wallet_migrated: this account''s credits live in its wallet');
END;
--> statement-breakpoint
CREATE TRIGGER `credit_clawbacks_insert_wallet_migrated` BEFORE INSERT ON `credit_clawbacks`
WHEN EXISTS (SELECT 1 FROM wallet_migrations WHERE account_id = NEW.account_id)
BEGIN
  SELECT RAISE(ABORT, 'wallet_migrated: this account''s credits live in its wallet');
END;
--> statement-breakpoint
CREATE TRIGGER `quota_usage_insert_wallet_migrated` BEFORE INSERT ON `quota_usage`
WHEN EXISTS (SELECT 1 FROM wallet_migrations WHERE account_id = NEW.account_id)
BEGIN
  SELECT RAISE(ABORT, 'wallet_migrated: this account''s credits live in its wallet');
END;
--> statement-breakpoint
CREATE TRIGGER `quota_usage_update_wallet_migrated` BEFORE UPDATE ON `quota_usage`
WHEN EXISTS (SELECT 1 FROM wallet_migrations WHERE account_id = NEW.account_id)
BEGIN
  SELECT RAISE(ABORT, 'wallet_migrated: this account''s credits live in its wallet');
END;
--> statement-breakpoint
CREATE TRIGGER `credit_ledger_insert_wallet_migrated` BEFORE INSERT ON `credit_ledger`
WHEN NEW.seq IS NULL AND EXISTS (SELECT 1 FROM wallet_migrations WHERE account_id = NEW.account_id)
BEGIN
  SELECT RAISE(ABORT, 'wallet_migrated: this account''s credits live in its wallet');
END;
