-- The credit ledger is append-only: a row, once written, is never changed or removed.
CREATE TRIGGER `credit_ledger_no_update` BEFORE UPDATE ON `credit_ledger`
BEGIN
  SELECT RAISE(ABORT, 'the credit ledger is append-only');
END;
--> statement-breakpoint
CREATE TRIGGER `credit_ledger_no_delete` BEFORE DELETE ON `credit_ledger`
BEGIN
  SELECT RAISE(ABORT, 'the credit ledger is append-only');
END;
