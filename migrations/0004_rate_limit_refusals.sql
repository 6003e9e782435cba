CREATE TABLE `rate_limit_refusals` (
	`limit_key` text NOT NULL,
	`bucket_start` integer NOT NULL,
	`refused` integer NOT NULL,
	PRIMARY KEY(`limit_key`, `bucket_start`)
);
--> statement-breakpoint
CREATE INDEX `rate_limit_refusals_bucket` ON `rate_limit_refusals` (`bucket_start`);