CREATE TABLE `plan_overrides` (
	`account_id` text PRIMARY KEY NOT NULL,
	`plan_id` text NOT NULL,
	`set_by` text NOT NULL,
	`created_at` integer NOT NULL,
	FOREIGN KEY (`plan_id`) REFERENCES `plans`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE TABLE `plans` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`rank` integer NOT NULL,
	`requests_per_minute` integer NOT NULL,
	`auth_requests_per_minute` integer NOT NULL,
	`ai_requests_per_minute` integer NOT NULL,
	`upload_requests_per_minute` integer NOT NULL,
	`org_requests_per_minute` integer,
	`monthly_included_millicredits` integer NOT NULL,
	`max_upload_bytes` integer NOT NULL,
	`storage_quota_bytes` integer NOT NULL,
	`translated_characters_per_month` integer NOT NULL,
	`bulk_jobs` integer NOT NULL,
	`max_org_members` integer NOT NULL,
	CONSTRAINT "plans_limits_positive" CHECK("plans"."requests_per_minute" > 0 AND "plans"."max_org_members" > 0)
);
