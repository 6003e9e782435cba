// Builds the deployable bundle (`wrangler deploy --dry-run --minify`) and fails when its
// gzip size passes the edge budget of ARCHITECTURE.md (1 MiB).
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { run } from "./run.mjs";

const BUDGET_BYTES = 1024 * 1024;
const outdir = "dist";

run("wrangler", ["deploy", "--dry-run", "--outdir", outdir, "--minify"]);

let raw = 0;
let gzip = 0;
for (const name of readdirSync(outdir)) {
  const path = join(outdir, name);
  if (!statSync(path).isFile() || name.endsWith(".map") || name === "README.md") continue;
  const bytes = readFileSync(path);
  raw += bytes.length;
  gzip += gzipSync(bytes, { level: 9 }).length;
}
const kib = (n) => `${(n / 1024).toFixed(1)} KiB`;
console.log(`bundle: ${kib(raw)} raw, ${kib(gzip)} gzip (budget ${kib(BUDGET_BYTES)} gzip)`);
if (gzip > BUDGET_BYTES) {
  console.error("bundle exceeds the 1 MiB gzip budget");
  process.exit(1);
}
