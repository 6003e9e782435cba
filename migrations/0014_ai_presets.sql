CREATE TABLE `ai_presets` (
	`id` text PRIMARY KEY NOT NULL,
	`owner_id` text NOT NULL,
	`visibility` text NOT NULL,
	`name` text NOT NULL,
	`category` text NOT NULL,
	`system_prompt` text NOT NULL,
	`model` text NOT NULL,
	`parameters` text NOT NULL,
	`created_by` text NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `ai_presets_owner` ON `ai_presets` (`owner_id`,`created_at`,`id`);--> statement-breakpoint
CREATE INDEX `ai_presets_owner_category` ON `ai_presets` (`owner_id`,`category`,`created_at`,`id`);