import type { TestProject } from "vitest/node";
import { loadCatalog, startStripeSimulator } from "../../simulators/stripe.mjs";
import { startFakeUpstream } from "./fakes/upstream";

/**
 * Runs in Node before the workerd test pool starts: fakes of external HTTP APIs listen on
 * 127.0.0.1 and their URLs are handed to tests with `inject()`. The Stripe simulator listens
 * on the port vitest.config.ts gave the Worker as STRIPE_API_PORT.
 */
export default async function setup(project: TestProject) {
  const upstream = await startFakeUpstream();
  const stripe = await startStripeSimulator({
    port: Number(process.env.STRIPE_SIMULATOR_PORT),
    catalog: loadCatalog(),
  });
  project.provide("fakeUpstreamUrl", upstream.url);
  project.provide("stripeSimulatorUrl", stripe.url);
  return async () => {
    await Promise.all([upstream.close(), stripe.close()]);
  };
}
