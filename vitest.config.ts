import { generateKeyPairSync } from "node:crypto";
import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

/**
 * Integration tests run inside workerd against the real local D1, KV, R2 and Queues of
 * wrangler.toml. Migrations reach the tests as a binding and are applied in setup; fakes of
 * external HTTP APIs are started by the global setup (Node) on 127.0.0.1.
 */
/** Two fresh Ed25519 keys per run: the first signs, both verify (rotation is tested). */
function signingKeys(): string {
  return JSON.stringify(
    ["test-key-current", "test-key-previous"].map((kid) => ({
      ...generateKeyPairSync("ed25519").privateKey.export({ format: "jwk" }),
      kid,
    })),
  );
}

export default defineConfig(async () => ({
  plugins: [
    cloudflareTest({
      wrangler: { configPath: "./wrangler.toml" },
      miniflare: {
        bindings: {
          ENVIRONMENT: "test",
          LOG_LEVEL: "error",
          CORS_ORIGINS: "https://app.example.com",
          JWT_SIGNING_KEYS: signingKeys(),
          STRIPE_SECRET_KEY: "sk_test_stratus_tests",
          STRIPE_WEBHOOK_SECRET: "whsec_stratus_tests",
          BILLING_CREDIT_PACKS: JSON.stringify([
            { id: "credits-1000", credits: 1000, priceId: "price_credits_1000" },
            { id: "credits-5000", credits: 5000, priceId: "price_credits_5000" },
          ]),
          TEST_MIGRATIONS: await readD1Migrations("./migrations"),
        },
      },
    }),
  ],
  test: {
    include: ["tests/**/*.test.ts"],
    reporters: ["default", "./tests/node/summary-reporter.ts"],
    globalSetup: ["./tests/node/global-setup.ts"],
    setupFiles: ["./tests/setup/apply-migrations.ts"],
  },
}));
