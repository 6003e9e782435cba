CREATE TABLE `translation_stats` (
	`account_id` text NOT NULL,
	`day` integer NOT NULL,
	`provider` text NOT NULL,
	`characters` integer NOT NULL,
	`cached_characters` integer NOT NULL,
	PRIMARY KEY(`account_id`, `day`, `provider`)
);
