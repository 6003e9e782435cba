CREATE TABLE `file_links` (
	`id` text PRIMARY KEY NOT NULL,
	`file_id` text NOT NULL,
	`disposition` text NOT NULL,
	`created_by` text NOT NULL,
	`created_at` integer NOT NULL,
	`expires_at` integer NOT NULL,
	FOREIGN KEY (`file_id`) REFERENCES `files`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `file_links_file` ON `file_links` (`file_id`,`created_at`);--> statement-breakpoint
CREATE INDEX `file_links_expiry` ON `file_links` (`expires_at`);--> statement-breakpoint
CREATE TABLE `files` (
	`id` text PRIMARY KEY NOT NULL,
	`account_id` text NOT NULL,
	`uploaded_by` text NOT NULL,
	`purpose` text NOT NULL,
	`name` text NOT NULL,
	`content_type` text NOT NULL,
	`size` integer NOT NULL,
	`sha256` text,
	`r2_key` text NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	CONSTRAINT "files_size_positive" CHECK("files"."size" > 0)
);
--> statement-breakpoint
CREATE INDEX `files_account` ON `files` (`account_id`,`created_at`,`id`);--> statement-breakpoint
CREATE TABLE `pending_uploads` (
	`id` text PRIMARY KEY NOT NULL,
	`account_id` text NOT NULL,
	`bytes` integer NOT NULL,
	`r2_key` text NOT NULL,
	`r2_upload_id` text,
	`created_at` integer NOT NULL,
	`expires_at` integer NOT NULL,
	CONSTRAINT "pending_uploads_bytes" CHECK("pending_uploads"."bytes" >= 0)
);
--> statement-breakpoint
CREATE INDEX `pending_uploads_expiry` ON `pending_uploads` (`expires_at`);--> statement-breakpoint
CREATE TABLE `storage_usage` (
	`account_id` text PRIMARY KEY NOT NULL,
	`used` integer NOT NULL,
	`limit_value` integer NOT NULL,
	CONSTRAINT "storage_usage_within_limit" CHECK("storage_usage"."used" >= 0 AND "storage_usage"."used" <= "storage_usage"."limit_value")
);
--> statement-breakpoint
CREATE TABLE `upload_parts` (
	`session_id` text NOT NULL,
	`number` integer NOT NULL,
	`etag` text NOT NULL,
	`size` integer NOT NULL,
	`created_at` integer NOT NULL,
	PRIMARY KEY(`session_id`, `number`),
	FOREIGN KEY (`session_id`) REFERENCES `upload_sessions`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE TABLE `upload_sessions` (
	`id` text PRIMARY KEY NOT NULL,
	`kind` text NOT NULL,
	`file_id` text NOT NULL,
	`account_id` text NOT NULL,
	`created_by` text NOT NULL,
	`name` text NOT NULL,
	`purpose` text NOT NULL,
	`declared_type` text,
	`size` integer NOT NULL,
	`part_size` integer NOT NULL,
	`part_count` integer NOT NULL,
	`sniffed_type` text,
	`claimed_at` integer,
	`created_at` integer NOT NULL,
	`expires_at` integer NOT NULL,
	FOREIGN KEY (`file_id`) REFERENCES `pending_uploads`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `upload_sessions_file_id_unique` ON `upload_sessions` (`file_id`);--> statement-breakpoint
CREATE INDEX `upload_sessions_account` ON `upload_sessions` (`account_id`,`created_at`);