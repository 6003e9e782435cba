CREATE TABLE `credit_budget_usage` (
	`account_id` text NOT NULL,
	`budget_key` text NOT NULL,
	`period_start` integer NOT NULL,
	`used` integer NOT NULL,
	`limit_value` integer NOT NULL,
	PRIMARY KEY(`account_id`, `budget_key`, `period_start`),
	CONSTRAINT "credit_budget_usage_within_limit" CHECK("credit_budget_usage"."used" >= 0 AND "credit_budget_usage"."used" <= "credit_budget_usage"."limit_value")
);
--> statement-breakpoint
ALTER TABLE `credit_holds` ADD `budget_key` text;--> statement-breakpoint
ALTER TABLE `credit_holds` ADD `budget_period_start` integer;