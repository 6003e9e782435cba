// Removes optional-dependency edges that point at packages missing from package-lock.json.
// The registry reachable here has no darwin/windows workerd builds for recent versions, so
// npm leaves those packages out of the lock but keeps the edges, and `npm ci` then fails
// with "Missing: @cloudflare/workerd-darwin-64 from lock file". Run after every lock change
// (`npm run lock:fix`); CI fails if the lock still has a dangling edge (`--check`).
import { readFileSync, writeFileSync } from "node:fs";

const path = new URL("../package-lock.json", import.meta.url);
const lock = JSON.parse(readFileSync(path, "utf8"));
const packages = lock.packages;

/** Node's resolution: the nearest node_modules/<name> walking up from the dependent. */
function resolves(fromPath, name) {
  let base = fromPath;
  for (;;) {
    const candidate = base ? `${base}/node_modules/${name}` : `node_modules/${name}`;
    if (packages[candidate]) return true;
    if (!base) return false;
    const cut = base.lastIndexOf("/node_modules/");
    base = cut === -1 ? "" : base.slice(0, cut);
  }
}

const removed = [];
for (const [pkgPath, entry] of Object.entries(packages)) {
  for (const name of Object.keys(entry.optionalDependencies ?? {})) {
    if (!resolves(pkgPath, name)) {
      delete entry.optionalDependencies[name];
      removed.push(`${pkgPath || "(root)"} → ${name}`);
    }
  }
}

if (process.argv.includes("--check")) {
  if (removed.length > 0) {
    console.error(`package-lock.json has dangling optional edges (run npm run lock:fix):\n${removed.join("\n")}`);
    process.exit(1);
  }
} else {
  writeFileSync(path, `${JSON.stringify(lock, null, 2)}\n`);
  console.log(removed.length ? `removed ${removed.length} dangling optional edges` : "lockfile already clean");
}
