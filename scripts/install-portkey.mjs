// `npm run bench:portkey`: installs the Portkey OSS gateway for the bench's side-by-side
// (bench/portkey.mjs) in a scratch folder of its own, PORTKEY_DIR (default bench/.portkey, which
// git ignores). The bench never vendors Portkey's code: this folder gets a package.json that pins
// @portkey-ai/gateway 1.15.2 with @hono/node-server 1.13.5 and hono 4.9.7, as Portkey's own
// lockfile has them (newer ones break its streaming), forced onto Portkey's dependencies by npm
// overrides, and runs `npm install` there: the same as the commands bench/portkey.mjs prints when
// the folder is missing. Scripts are not run: Portkey's only one, a postinstall patch-package,
// has no patches in the published package.
import { spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const PORTKEY_VERSIONS = { "@portkey-ai/gateway": "1.15.2", "@hono/node-server": "1.13.5", hono: "4.9.7" };

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const dir = process.env.PORTKEY_DIR ? resolve(process.env.PORTKEY_DIR) : join(root, "bench", ".portkey");
mkdirSync(dir, { recursive: true });
const manifest = {
  name: "stratus-bench-portkey",
  private: true,
  description: "Portkey OSS gateway for Stratus's bench (scripts/install-portkey.mjs); not part of Stratus.",
  dependencies: PORTKEY_VERSIONS,
  overrides: { "@hono/node-server": PORTKEY_VERSIONS["@hono/node-server"], hono: PORTKEY_VERSIONS.hono },
};
writeFileSync(resolve(dir, "package.json"), `${JSON.stringify(manifest, null, 2)}\n`);

// Under `npm run`, the npm that runs us; otherwise `npm` from the PATH (a .cmd shim on Windows).
const npm = process.env.npm_execpath;
const [executable, args, shell] = npm?.endsWith(".js")
  ? [process.execPath, [npm, "install"], false]
  : ["npm", ["install"], process.platform === "win32"];
console.log(`Installing the Portkey gateway ${PORTKEY_VERSIONS["@portkey-ai/gateway"]} in ${dir}`);
const result = spawnSync(executable, [...args, "--ignore-scripts", "--no-audit", "--no-fund"], {
  cwd: dir,
  stdio: "inherit",
  shell,
});
if (result.status !== 0) {
  console.error(`npm install in ${dir} failed (exit ${result.status ?? result.signal})`);
  process.exit(result.status ?? 1);
}
