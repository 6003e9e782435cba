-- Development data: 50 000 purchased credits for the demo user, so the AI gateway answers at
-- once in `npm run dev`. Written as the pre-wallet ledger had them (the ledger row once, by its
-- reference, then its balance, only if that row was just written): the demo user's wallet takes
-- them over from D1 on its first touch, like any account's. Idempotent.
INSERT INTO credit_ledger (id, account_id, bucket, amount, reason, reference, balance_after, created_at)
SELECT 'led_01JBSEEDCRED1TS000000000', 'usr_01JBSEEDDEM000000000000000', 'purchased', 50000000, 'seed', 'seed:demo-credits',
  coalesce((SELECT balance FROM credit_balances WHERE account_id = 'usr_01JBSEEDDEM000000000000000' AND bucket = 'purchased'), 0) + 50000000,
  1793491200000
WHERE NOT EXISTS (SELECT 1 FROM credit_ledger WHERE reference = 'seed:demo-credits');

INSERT INTO credit_balances (account_id, bucket, balance)
SELECT 'usr_01JBSEEDDEM000000000000000', 'purchased', 50000000 WHERE changes() > 0
ON CONFLICT (account_id, bucket) DO UPDATE SET balance = balance + excluded.balance;
