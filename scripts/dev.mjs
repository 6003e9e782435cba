// `npm run dev`: migrates and seeds the local D1, then serves the Worker with every binding
// local (D1, KV, R2 and Queues are simulated by wrangler under .wrangler/state). Local
// secrets come from .dev.vars, created from .dev.vars.example on first run.
import { spawn } from "node:child_process";
import { copyFileSync, existsSync } from "node:fs";
import { run } from "./run.mjs";

if (!existsSync(".dev.vars")) copyFileSync(".dev.vars.example", ".dev.vars");

process.env.WRANGLER_SEND_METRICS ??= "false";
process.env.CLOUDFLARE_CF_FETCH_ENABLED ??= "false";

run("wrangler", ["d1", "migrations", "apply", "DB", "--local"]);
run("node", ["scripts/seed.mjs"]);

const port = process.env.PORT ?? "8787";
const dev = spawn("wrangler", ["dev", "--port", port, "--test-scheduled", ...process.argv.slice(2)], {
  stdio: "inherit",
});
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => dev.kill(signal));
dev.on("exit", (code) => process.exit(code ?? 0));
