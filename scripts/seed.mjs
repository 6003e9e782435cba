// Applies every seed/*.sql file, in name order, to the D1 database (`--local` by default,
// `--remote` for a deployed one). Seed files must be idempotent (INSERT … ON CONFLICT DO
// NOTHING), so seeding twice changes nothing.
import { readdirSync } from "node:fs";
import { run } from "./run.mjs";

const target = process.argv.includes("--remote") ? "--remote" : "--local";
const files = readdirSync(new URL("../seed/", import.meta.url))
  .filter((name) => name.endsWith(".sql"))
  .sort();
for (const file of files) {
  run("wrangler", ["d1", "execute", "DB", target, "--file", `seed/${file}`]);
}
console.log(files.length ? `seeded from ${files.join(", ")}` : "seed/ has no seed files yet");
