CREATE TABLE `ai_usage` (
	`id` text PRIMARY KEY NOT NULL,
	`account_id` text NOT NULL,
	`user_id` text NOT NULL,
	`api_key_id` text,
	`endpoint` text NOT NULL,
	`requested_model` text NOT NULL,
	`model` text,
	`provider` text,
	`input_tokens` integer NOT NULL,
	`output_tokens` integer NOT NULL,
	`cost` real NOT NULL,
	`charged` integer NOT NULL,
	`time_to_first_token_ms` integer,
	`latency_ms` integer NOT NULL,
	`status` text NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `ai_usage_account` ON `ai_usage` (`account_id`,`created_at`);--> statement-breakpoint
CREATE INDEX `ai_usage_user` ON `ai_usage` (`user_id`,`created_at`);