CREATE TABLE `idempotency_keys` (
	`principal_id` text NOT NULL,
	`key` text NOT NULL,
	`request_hash` text NOT NULL,
	`state` text NOT NULL,
	`response_status` integer,
	`response_headers` text,
	`response_body` text,
	`locked_until` integer NOT NULL,
	`created_at` integer NOT NULL,
	`expires_at` integer NOT NULL,
	PRIMARY KEY(`principal_id`, `key`),
	CONSTRAINT "idempotency_keys_state_known" CHECK("idempotency_keys"."state" IN ('in_flight', 'completed'))
);
--> statement-breakpoint
CREATE INDEX `idempotency_keys_expires_at` ON `idempotency_keys` (`expires_at`);--> statement-breakpoint
CREATE TABLE `queue_tasks` (
	`id` text PRIMARY KEY NOT NULL,
	`kind` text NOT NULL,
	`reference` text NOT NULL,
	`payload` text NOT NULL,
	`status` text NOT NULL,
	`attempts` integer DEFAULT 0 NOT NULL,
	`requeues` integer DEFAULT 0 NOT NULL,
	`leased_until` integer,
	`last_error` text,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	`processed_at` integer,
	CONSTRAINT "queue_tasks_status_known" CHECK("queue_tasks"."status" IN ('received', 'processed', 'failed'))
);
--> statement-breakpoint
CREATE UNIQUE INDEX `queue_tasks_reference_unique` ON `queue_tasks` (`reference`);--> statement-breakpoint
CREATE INDEX `queue_tasks_status_updated` ON `queue_tasks` (`status`,`updated_at`);--> statement-breakpoint
CREATE INDEX `queue_tasks_kind_processed` ON `queue_tasks` (`kind`,`processed_at`);