// Applies every seed/*.sql file, in name order, to the local D1 database. Seeds are
// development data (known passwords): there is deliberately no way to apply them remotely.
// Seed files must be idempotent (INSERT … ON CONFLICT DO NOTHING): seeding twice changes nothing.
import { readdirSync } from "node:fs";
import { run } from "./run.mjs";

const files = readdirSync(new URL("../seed/", import.meta.url))
  .filter((name) => name.endsWith(".sql"))
  .sort();
for (const file of files) {
  run("wrangler", ["d1", "execute", "DB", "--local", "--file", `seed/${file}`]);
}
console.log(files.length ? `seeded from ${files.join(", ")}` : "seed/ has no seed files yet");
