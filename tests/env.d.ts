import type { D1Migration } from "cloudflare:test";

declare global {
  namespace Cloudflare {
    interface Env {
      TEST_MIGRATIONS: D1Migration[];
    }
  }
}

declare module "vitest" {
  export interface ProvidedContext {
    /** Base URL of the scriptable fake upstream server (tests/node/fakes/upstream.ts). */
    fakeUpstreamUrl: string;
    /** Base URL of the Stripe simulator (simulators/stripe.mjs) the Worker's Stripe SDK calls. */
    stripeSimulatorUrl: string;
    /** Base URLs of the OpenAI and Anthropic simulators (simulators/openai.mjs, anthropic.mjs). */
    openaiSimulatorUrl: string;
    anthropicSimulatorUrl: string;
    translateSimulatorUrl: string;
  }
}
