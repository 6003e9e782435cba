-- Development data: a platform admin and a demo user, both with verified emails.
-- Their passwords are in the README; never apply this file to a deployed database
-- (scripts/seed.mjs only seeds the local one). Idempotent: existing rows are kept.
INSERT INTO users (id, email, email_verified_at, password_hash, name, preferences, role, created_at, updated_at)
VALUES
  ('usr_01JBSEEDADM1N0000000000000', 'admin@stratus.local', 1793491200000, 'pbkdf2-sha256$100000$FHZE/4QTMq49rvTL8rdKcw==$o2HQ0oDBcIrppiKnRsAr7zgd3dGUuF7JEbS5flbglbY=', 'Dev Admin', '{}', 'admin', 1793491200000, 1793491200000),
  ('usr_01JBSEEDDEM000000000000000', 'demo@stratus.local', 1793491200000, 'pbkdf2-sha256$100000$sATYUIt1Nr1+LRYFiiCKuw==$HTq927LbBzvJh3TjCq6EZm6IeIgwbpAh8BkIE5JNVOE=', 'Demo User', '{}', 'user', 1793491200000, 1793491200000)
ON CONFLICT DO NOTHING;
