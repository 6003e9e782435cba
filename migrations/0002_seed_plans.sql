-- The plans Stratus ships with (product configuration, not development data). Later
-- migrations may add plans or change limits; existing rows are kept.
INSERT INTO plans (id, name, rank, requests_per_minute, auth_requests_per_minute, ai_requests_per_minute, upload_requests_per_minute, org_requests_per_minute, monthly_included_millicredits, max_upload_bytes, storage_quota_bytes, translated_characters_per_month, bulk_jobs, max_org_members)
VALUES
  ('free', 'Free', 0, 60, 10, 10, 10, NULL, 100000, 10485760, 104857600, 50000, 0, 3),
  ('premium', 'Premium', 1, 600, 30, 60, 60, NULL, 5000000, 104857600, 10737418240, 1000000, 1, 20),
  ('pro', 'Pro', 2, 3000, 60, 300, 300, 10000, 25000000, 524288000, 107374182400, 10000000, 1, 200)
ON CONFLICT (id) DO NOTHING;
