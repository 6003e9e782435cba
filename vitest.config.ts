import { generateKeyPairSync } from "node:crypto";
import { createServer } from "node:net";
import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

/**
 * Two projects, one `npm test`:
 * - `workers`: integration tests inside workerd against the real local D1, KV, R2, Queues and
 *   Durable Objects of wrangler.toml. Migrations reach the tests as a binding and are applied
 *   in setup; fakes of external HTTP APIs are started by the global setup (Node) on 127.0.0.1.
 * - `node`: tests of what workerd tests cannot reach (static assets, later real socket clients
 *   and external tools), against the deployable bundle served by the Miniflare API
 *   (tests/node/worker-setup.ts builds and starts it).
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

/** A free local port for a simulator, which the global setup starts on it. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (!address || typeof address === "string") throw new Error("no port for the Stripe simulator");
  return address.port;
}

export default defineConfig(async () => {
  process.env.STRIPE_SIMULATOR_PORT ??= String(await freePort());
  process.env.OPENAI_SIMULATOR_PORT ??= String(await freePort());
  process.env.ANTHROPIC_SIMULATOR_PORT ??= String(await freePort());
  process.env.TRANSLATE_SIMULATOR_PORT ??= String(await freePort());
  const workers = {
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
            STRIPE_API_HOST: "127.0.0.1",
            STRIPE_API_PORT: process.env.STRIPE_SIMULATOR_PORT,
            STRIPE_API_PROTOCOL: "http",
            OPENAI_API_KEY: "sk-stratus-tests",
            OPENAI_BASE_URL: `http://127.0.0.1:${process.env.OPENAI_SIMULATOR_PORT}/v1`,
            ANTHROPIC_API_KEY: "sk-ant-stratus-tests",
            ANTHROPIC_BASE_URL: `http://127.0.0.1:${process.env.ANTHROPIC_SIMULATOR_PORT}`,
            // Gemini, Mistral and a self-hosted server speak OpenAI's API: the OpenAI simulator answers for them.
            GOOGLE_API_KEY: "google-stratus-tests",
            GOOGLE_BASE_URL: `http://127.0.0.1:${process.env.OPENAI_SIMULATOR_PORT}/v1`,
            MISTRAL_API_KEY: "mistral-stratus-tests",
            MISTRAL_BASE_URL: `http://127.0.0.1:${process.env.OPENAI_SIMULATOR_PORT}/v1`,
            OPENAI_COMPATIBLE_BASE_URL: `http://127.0.0.1:${process.env.OPENAI_SIMULATOR_PORT}/v1`,
            OPENAI_COMPATIBLE_MODELS: "llama3.1:8b",
            // Google Translate and DeepL: one simulator speaks both.
            GOOGLE_TRANSLATE_API_KEY: "google-translate-stratus-tests",
            GOOGLE_TRANSLATE_BASE_URL: `http://127.0.0.1:${process.env.TRANSLATE_SIMULATOR_PORT}`,
            DEEPL_API_KEY: "deepl-stratus-tests",
            DEEPL_BASE_URL: `http://127.0.0.1:${process.env.TRANSLATE_SIMULATOR_PORT}`,
            BILLING_REDIRECT_ALLOWLIST: "https://app.example.com",
            FILES_SIGNING_KEYS: JSON.stringify([
              { kid: "test-2", secret: "files-signing-secret-for-tests-number-two" },
              { kid: "test-1", secret: "files-signing-secret-for-tests-number-one" },
            ]),
            TEST_MIGRATIONS: await readD1Migrations("./migrations"),
          },
        },
      }),
    ],
    test: {
      name: "workers",
      include: ["tests/**/*.test.ts"],
      exclude: ["tests/node/**"],
      globalSetup: ["./tests/node/global-setup.ts"],
      setupFiles: ["./tests/setup/apply-migrations.ts"],
    },
  };
  const node = {
    test: {
      name: "node",
      environment: "node",
      include: ["tests/node/**/*.test.ts"],
      globalSetup: ["./tests/node/worker-setup.ts"],
      testTimeout: 30_000,
    },
  };
  return {
    test: {
      reporters: ["default", "./tests/node/summary-reporter.ts"],
      projects: [workers, node],
    },
  };
});
