import { generateKeyPairSync } from "node:crypto";
import type { TestProject } from "vitest/node";
import { buildWorker, STRATUS_OPTIONS, serveBundle } from "../../scripts/serve-bundle.mjs";

/**
 * The Node-side project's Worker: the deployable bundle (`wrangler deploy --dry-run`), served
 * by the Miniflare API with the static assets of `public/` in front of it, as Cloudflare serves
 * them (`_headers` included). Its URL reaches tests as `workerUrl`.
 */
export default async function setup(project: TestProject) {
  const entry = buildWorker("tests/node/.build");
  const signingKey = { ...generateKeyPairSync("ed25519").privateKey.export({ format: "jwk" }), kid: "node-tests" };
  const { mf, url } = await serveBundle(entry, {
    bindings: {
      ENVIRONMENT: "test",
      LOG_LEVEL: "error",
      JWT_SIGNING_KEYS: JSON.stringify([signingKey]),
      STRIPE_SECRET_KEY: "sk_test_node_tests",
      STRIPE_WEBHOOK_SECRET: "whsec_node_tests",
    },
    ...STRATUS_OPTIONS,
    assets: { directory: "public", routerConfig: { has_user_worker: true } },
  });
  project.provide("workerUrl", url);
  return () => mf.dispose();
}

declare module "vitest" {
  export interface ProvidedContext {
    workerUrl: string;
  }
}
