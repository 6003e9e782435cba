// `npm run dev`: migrates and seeds the local D1, then serves the Worker with every binding
// local (D1, KV, R2 and Queues are simulated by wrangler under .wrangler/state). Local
// secrets come from .dev.vars, created from .dev.vars.example on first run. Without a real
// Stripe key there, the Stripe simulator stands in for Stripe's API and sends its webhooks;
// without OPENAI_API_KEY / ANTHROPIC_API_KEY, the OpenAI and Anthropic simulators answer, and
// without GOOGLE_TRANSLATE_API_KEY / DEEPL_API_KEY, the translation simulator.
import { spawn } from "node:child_process";
import { copyFileSync, existsSync } from "node:fs";
import { startAnthropicSimulator } from "../simulators/anthropic.mjs";
import { startOpenAISimulator } from "../simulators/openai.mjs";
import { loadCatalog, readDevVars, startStripeSimulator } from "../simulators/stripe.mjs";
import { startTranslateSimulator } from "../simulators/translate.mjs";
import { commandOf, run } from "./run.mjs";

if (!existsSync(".dev.vars")) copyFileSync(".dev.vars.example", ".dev.vars");

process.env.WRANGLER_SEND_METRICS ??= "false";
process.env.CLOUDFLARE_CF_FETCH_ENABLED ??= "false";

run("wrangler", ["d1", "migrations", "apply", "DB", "--local"]);
run("node", ["scripts/seed.mjs"]);

const port = process.env.PORT ?? "8787";
const stripe = await startStripeWhenNoRealKey();
const providers = [
  await providerOrSimulator("OPENAI", startOpenAISimulator, 12112, "/v1"),
  await providerOrSimulator("ANTHROPIC", startAnthropicSimulator, 12113, ""),
  await providerOrSimulator("GOOGLE_TRANSLATE", startTranslateSimulator, 12114, ""),
  await providerOrSimulator("DEEPL", startTranslateSimulator, 12115, ""),
];
const vars = [...(stripe?.vars ?? []), ...providers.flatMap((provider) => provider.vars)];
const dev = spawn(
  ...commandOf("wrangler", ["dev", "--port", port, "--test-scheduled", ...vars, ...process.argv.slice(2)]),
  {
    stdio: "inherit",
  },
);
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => dev.kill(signal));
dev.on("exit", async (code) => {
  await Promise.all([stripe?.simulator.close(), ...providers.map((provider) => provider.simulator?.close())]);
  process.exit(code ?? 0);
});

/**
 * An external provider for local development: the key in .dev.vars if there is one (wrangler
 * dev loads only the required secrets from that file, so it is passed on here), else its simulator.
 */
async function providerOrSimulator(name, start, defaultPort, apiPath) {
  const key = readDevVars()[`${name}_API_KEY`];
  if (key) return { simulator: undefined, vars: ["--var", `${name}_API_KEY:${key}`] };
  const simulatorPort = Number(process.env[`${name}_SIMULATOR_PORT`] ?? defaultPort);
  const simulator = await start({ port: simulatorPort }).catch((error) => {
    console.error(`The ${name} simulator cannot listen on port ${simulatorPort} (${error.code ?? error.message}).`);
    process.exit(1);
  });
  console.log(`${name}: no ${name}_API_KEY in .dev.vars, so the simulator at ${simulator.url} answers.`);
  const settings = [`${name}_API_KEY:dev-only-simulator`, `${name}_BASE_URL:${simulator.url}${apiPath}`];
  return { simulator, vars: settings.flatMap((setting) => ["--var", setting]) };
}

/** The placeholder key (a "dev-only-" value) cannot reach Stripe: the simulator answers instead. */
async function startStripeWhenNoRealKey() {
  const devVars = readDevVars();
  if (!devVars.STRIPE_SECRET_KEY?.includes("dev-only-")) return undefined;
  const simulatorPort = Number(process.env.STRIPE_SIMULATOR_PORT ?? 12111);
  let simulator;
  try {
    simulator = await startStripeSimulator({
      port: simulatorPort,
      catalog: loadCatalog(),
      webhook: { url: `http://127.0.0.1:${port}/v1/billing/webhook`, secret: devVars.STRIPE_WEBHOOK_SECRET ?? "" },
    });
  } catch (error) {
    console.error(
      `The Stripe simulator cannot listen on port ${simulatorPort} (${error.code ?? error.message}); set STRIPE_SIMULATOR_PORT.`,
    );
    process.exit(1);
  }
  console.log(
    `Stripe: no real key in .dev.vars, so the Stripe simulator at ${simulator.url} is used (npm run stripe:event -- --help).`,
  );
  const vars = ["STRIPE_API_HOST:127.0.0.1", `STRIPE_API_PORT:${simulator.port}`, "STRIPE_API_PROTOCOL:http"];
  return { simulator, vars: vars.flatMap((v) => ["--var", v]) };
}
