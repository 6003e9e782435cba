ALTER TABLE `files` ADD `expires_at` integer;--> statement-breakpoint
ALTER TABLE `files` ADD `attached_kind` text;--> statement-breakpoint
ALTER TABLE `files` ADD `attached_id` text;--> statement-breakpoint
CREATE INDEX `files_attached` ON `files` (`attached_kind`,`attached_id`);--> statement-breakpoint
CREATE INDEX `files_expiry` ON `files` (`expires_at`);--> statement-breakpoint
ALTER TABLE `plans` ADD `compression_retention_days` integer DEFAULT 30 NOT NULL;--> statement-breakpoint
-- Compression files are transient: a day on free, a week on premium, a month on pro.
UPDATE `plans` SET `compression_retention_days` = CASE `id` WHEN 'free' THEN 1 WHEN 'premium' THEN 7 ELSE 30 END WHERE `id` IN ('free', 'premium', 'pro');
