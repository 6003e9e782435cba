CREATE TABLE `billing_customers` (
	`account_id` text PRIMARY KEY NOT NULL,
	`customer_id` text NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `billing_customers_customer_id_unique` ON `billing_customers` (`customer_id`);--> statement-breakpoint
CREATE TABLE `billing_subscriptions` (
	`id` text PRIMARY KEY NOT NULL,
	`account_id` text NOT NULL,
	`customer_id` text NOT NULL,
	`status` text NOT NULL,
	`plan_id` text,
	`interval` text,
	`price_id` text NOT NULL,
	`current_period_start` integer NOT NULL,
	`current_period_end` integer NOT NULL,
	`cancel_at_period_end` integer NOT NULL,
	`past_due_since` integer,
	`grace_ends_at` integer,
	`downgraded_at` integer,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `billing_subscriptions_account` ON `billing_subscriptions` (`account_id`,`created_at`);--> statement-breakpoint
CREATE INDEX `billing_subscriptions_grace` ON `billing_subscriptions` (`status`,`grace_ends_at`);--> statement-breakpoint
CREATE TABLE `included_credit_grants` (
	`reference` text PRIMARY KEY NOT NULL,
	`account_id` text NOT NULL,
	`plan_id` text NOT NULL,
	`period_start` integer NOT NULL,
	`period_end` integer NOT NULL,
	`millicredits` integer NOT NULL,
	`created_at` integer NOT NULL,
	`expired_at` integer,
	`expired` integer
);
--> statement-breakpoint
CREATE INDEX `included_credit_grants_account` ON `included_credit_grants` (`account_id`,`period_start`);--> statement-breakpoint
CREATE INDEX `included_credit_grants_open` ON `included_credit_grants` (`expired_at`,`period_end`);--> statement-breakpoint
CREATE TABLE `included_credit_sweeps` (
	`period_start` integer PRIMARY KEY NOT NULL,
	`cursor` text NOT NULL
);
