DROP INDEX `credit_holds_reference_unique`;--> statement-breakpoint
CREATE UNIQUE INDEX `credit_holds_account_reference` ON `credit_holds` (`account_id`,`reference`);