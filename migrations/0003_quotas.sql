CREATE TABLE `quota_usage` (
	`account_id` text NOT NULL,
	`metric` text NOT NULL,
	`period_start` integer NOT NULL,
	`used` integer NOT NULL,
	`limit_value` integer NOT NULL,
	PRIMARY KEY(`account_id`, `metric`, `period_start`),
	CONSTRAINT "quota_usage_within_limit" CHECK("quota_usage"."used" >= 0 AND "quota_usage"."used" <= "quota_usage"."limit_value")
);
