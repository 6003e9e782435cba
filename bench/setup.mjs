// What `npm run bench` and `npm run bench:profile` set up alike on a served Stratus bundle: its
// bindings, a plan whose limits the load never reaches, and a signed-up user with credits.

import { generateKeyPairSync } from "node:crypto";

export const WEBHOOK_SECRET = "whsec_bench";

/** The bindings of a served Stratus bundle, against simulators at the given URLs. */
export function benchBindings({ openaiUrl, translateUrl }) {
  return {
    OPENAI_API_KEY: "sk-bench",
    OPENAI_BASE_URL: `${openaiUrl}/v1`,
    GOOGLE_TRANSLATE_API_KEY: "bench",
    GOOGLE_TRANSLATE_BASE_URL: translateUrl,
    TRANSLATE_PROVIDERS: "google",
    ENVIRONMENT: "development",
    LOG_LEVEL: "error",
    // Production's path: no I/O counting proxies (src/middleware/io-count.ts).
    IO_COUNT: "off",
    CORS_ORIGINS: "",
    JWT_SIGNING_KEYS: JSON.stringify([
      { ...generateKeyPairSync("ed25519").privateKey.export({ format: "jwk" }), kid: "bench" },
    ]),
    STRIPE_SECRET_KEY: "sk_test_bench",
    STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET,
  };
}

/** Anonymous requests are limited per IP: each bench client request comes from its own. */
export const randomIp = () => `198.18.${Math.floor(Math.random() * 256)}.${Math.floor(Math.random() * 256)}`;

/** A JSON POST to the served bundle at `url`, from a random client IP. */
export const postTo =
  (url) =>
  (path, json, headers = {}) =>
    fetch(`${url}${path}`, {
      method: "POST",
      headers: { "content-type": "application/json", "cf-connecting-ip": randomIp(), ...headers },
      body: JSON.stringify(json),
    });

/**
 * The `bench` plan, with limits far above what the load reaches (every request is decided and
 * none refused); answers a function that puts an account on it.
 */
export async function benchPlan(db) {
  await db
    .prepare(
      `INSERT INTO plans SELECT 'bench', 'Bench', 99, 1000000000, 1000000000, 1000000000, 1000000000, 1000000000,
         monthly_included_millicredits, max_upload_bytes, storage_quota_bytes, translated_characters_per_month,
         bulk_jobs, max_org_members, compression_retention_days FROM plans WHERE id = 'pro'`,
    )
    .run();
  return (accountId) =>
    db
      .prepare("INSERT INTO plan_overrides (account_id, plan_id, set_by, created_at) VALUES (?, 'bench', 'bench', 0)")
      .bind(accountId)
      .run();
}

/** Signs a user up at `url`: its `{ user, tokens }`. */
export async function signUp(url, credentials) {
  const response = await postTo(url)("/v1/auth/register", { ...credentials, name: "Bench" });
  if (response.status !== 201) throw new Error(`register failed: ${response.status} ${await response.text()}`);
  return response.json();
}

/**
 * Credits for `userId` as a pre-wallet account had them (a D1 balance and its ledger row): its
 * wallet takes them over at its first touch, which the bench checks at its end.
 */
export async function legacyCredits(db, userId) {
  await db.batch([
    db
      .prepare("INSERT INTO credit_balances (account_id, bucket, balance) VALUES (?, 'purchased', 1000000000000)")
      .bind(userId),
    db
      .prepare(
        `INSERT INTO credit_ledger (id, account_id, bucket, amount, reason, reference, balance_after, created_at)
         VALUES ('led_bench', ?, 'purchased', 1000000000000, 'bench', 'bench:credits', 1000000000000, 0)`,
      )
      .bind(userId),
  ]);
}
