import type { TestProject } from "vitest/node";
import { startAnthropicSimulator } from "../../simulators/anthropic.mjs";
import { startOpenAISimulator } from "../../simulators/openai.mjs";
import { loadCatalog, startStripeSimulator } from "../../simulators/stripe.mjs";
import { startTranslateSimulator } from "../../simulators/translate.mjs";
import { startFakeUpstream } from "./fakes/upstream";

/**
 * Runs in Node before the workerd test pool starts: fakes of external HTTP APIs listen on
 * 127.0.0.1 and their URLs are handed to tests with `inject()`. The Stripe simulator listens
 * on the port vitest.config.ts gave the Worker as STRIPE_API_PORT, and the LLM simulators on
 * the ports of OPENAI_BASE_URL and ANTHROPIC_BASE_URL, the translation simulator on that of
 * GOOGLE_TRANSLATE_BASE_URL and DEEPL_BASE_URL.
 */
export default async function setup(project: TestProject) {
  const upstream = await startFakeUpstream();
  const stripe = await startStripeSimulator({
    port: Number(process.env.STRIPE_SIMULATOR_PORT),
    catalog: loadCatalog(),
  });
  const openai = await startOpenAISimulator({ port: Number(process.env.OPENAI_SIMULATOR_PORT) });
  const anthropic = await startAnthropicSimulator({ port: Number(process.env.ANTHROPIC_SIMULATOR_PORT) });
  const translate = await startTranslateSimulator({ port: Number(process.env.TRANSLATE_SIMULATOR_PORT) });
  project.provide("fakeUpstreamUrl", upstream.url);
  project.provide("stripeSimulatorUrl", stripe.url);
  project.provide("openaiSimulatorUrl", openai.url);
  project.provide("anthropicSimulatorUrl", anthropic.url);
  project.provide("translateSimulatorUrl", translate.url);
  return async () => {
    await Promise.all([upstream.close(), stripe.close(), openai.close(), anthropic.close(), translate.close()]);
  };
}
