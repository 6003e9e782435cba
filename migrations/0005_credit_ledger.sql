CREATE TABLE `credit_balances` (
	`account_id` text NOT NULL,
	`bucket` text NOT NULL,
	`balance` integer NOT NULL,
	PRIMARY KEY(`account_id`, `bucket`),
	CONSTRAINT "credit_balances_not_negative" CHECK("credit_balances"."balance" >= 0),
	CONSTRAINT "credit_balances_bucket_known" CHECK("credit_balances"."bucket" IN ('included', 'purchased'))
);
--> statement-breakpoint
CREATE TABLE `credit_hold_closures` (
	`hold_id` text PRIMARY KEY NOT NULL,
	`kind` text NOT NULL,
	`charged` integer NOT NULL,
	`returned_included` integer NOT NULL,
	`returned_purchased` integer NOT NULL,
	`shortfall` integer NOT NULL,
	`closed_at` integer NOT NULL,
	FOREIGN KEY (`hold_id`) REFERENCES `credit_holds`(`id`) ON UPDATE no action ON DELETE no action,
	CONSTRAINT "credit_hold_closures_amounts" CHECK("credit_hold_closures"."charged" >= 0 AND "credit_hold_closures"."returned_included" >= 0 AND "credit_hold_closures"."returned_purchased" >= 0 AND "credit_hold_closures"."shortfall" >= 0)
);
--> statement-breakpoint
CREATE TABLE `credit_holds` (
	`id` text PRIMARY KEY NOT NULL,
	`account_id` text NOT NULL,
	`reference` text NOT NULL,
	`amount` integer NOT NULL,
	`from_included` integer NOT NULL,
	`from_purchased` integer NOT NULL,
	`created_at` integer NOT NULL,
	`expires_at` integer NOT NULL,
	CONSTRAINT "credit_holds_split" CHECK("credit_holds"."from_included" >= 0 AND "credit_holds"."from_purchased" >= 0 AND "credit_holds"."from_included" + "credit_holds"."from_purchased" = "credit_holds"."amount" AND "credit_holds"."amount" > 0)
);
--> statement-breakpoint
CREATE UNIQUE INDEX `credit_holds_reference_unique` ON `credit_holds` (`reference`);--> statement-breakpoint
CREATE INDEX `credit_holds_account` ON `credit_holds` (`account_id`);--> statement-breakpoint
CREATE INDEX `credit_holds_expires` ON `credit_holds` (`expires_at`);--> statement-breakpoint
CREATE TABLE `credit_ledger` (
	`id` text PRIMARY KEY NOT NULL,
	`account_id` text NOT NULL,
	`bucket` text NOT NULL,
	`amount` integer NOT NULL,
	`reason` text NOT NULL,
	`reference` text NOT NULL,
	`balance_after` integer NOT NULL,
	`created_at` integer NOT NULL,
	CONSTRAINT "credit_ledger_amount_not_zero" CHECK("credit_ledger"."amount" <> 0)
);
--> statement-breakpoint
CREATE UNIQUE INDEX `credit_ledger_reference_unique` ON `credit_ledger` (`reference`);--> statement-breakpoint
CREATE INDEX `credit_ledger_account` ON `credit_ledger` (`account_id`,`created_at`,`id`);