CREATE TABLE `credit_clawbacks` (
	`reference` text PRIMARY KEY NOT NULL,
	`account_id` text NOT NULL,
	`session_id` text NOT NULL,
	`requested` integer NOT NULL,
	`clawed` integer NOT NULL,
	`shortfall` integer NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `credit_pack_purchases` (
	`session_id` text PRIMARY KEY NOT NULL,
	`account_id` text NOT NULL,
	`payment_intent` text,
	`millicredits` integer NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `credit_pack_purchases_payment_intent` ON `credit_pack_purchases` (`payment_intent`);