// Keeps package-lock.json installable with `npm ci` on every platform the README promises
// (Linux, macOS, Windows; x64 and arm64):
// - removes optional-dependency edges that point at packages missing from the lock (npm
//   leaves such edges behind when a registry lacks a platform build, and `npm ci` then fails
//   with "Missing: … from lock file");
// - with `--check` (CI), also fails when a platform build of workerd or Biome is missing, so
//   a lock regenerated against a registry without them cannot land. Regenerate the lock from
//   scratch (`rm package-lock.json && npm install --package-lock-only`) to bring them back.
import { readFileSync, writeFileSync } from "node:fs";

const path = new URL("../package-lock.json", import.meta.url);
const lock = JSON.parse(readFileSync(path, "utf8"));
const packages = lock.packages;

/** Native packages every supported platform needs, by the package that depends on them. */
const PLATFORM_BUILDS = {
  workerd: ["darwin-64", "darwin-arm64", "linux-64", "linux-arm64", "windows-64"].map(
    (p) => `@cloudflare/workerd-${p}`,
  ),
  "@biomejs/biome": ["darwin-arm64", "darwin-x64", "linux-arm64", "linux-x64", "win32-x64"].map(
    (p) => `@biomejs/cli-${p}`,
  ),
};

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

const missing = [];
for (const [pkgPath] of Object.entries(packages)) {
  const name = pkgPath.slice(pkgPath.lastIndexOf("node_modules/") + "node_modules/".length);
  for (const build of PLATFORM_BUILDS[name] ?? []) {
    if (!resolves(pkgPath, build)) missing.push(`${pkgPath} → ${build}`);
  }
}

if (process.argv.includes("--check")) {
  const problems = [
    ...removed.map((edge) => `dangling optional edge (run npm run lock:fix): ${edge}`),
    ...missing.map((edge) => `missing platform build (regenerate the lock): ${edge}`),
  ];
  if (problems.length > 0) {
    console.error(`package-lock.json is not installable everywhere:\n${problems.join("\n")}`);
    process.exit(1);
  }
} else {
  writeFileSync(path, `${JSON.stringify(lock, null, 2)}\n`);
  console.log(removed.length ? `removed ${removed.length} dangling optional edges` : "lockfile already clean");
  if (missing.length > 0) console.warn(`missing platform builds (regenerate the lock):\n${missing.join("\n")}`);
}
