// Proves the module-boundary lint rule (biome.json `overrides`: another module only through its
// api.ts) on planted fixtures: each reach-in must be refused, the legal imports must pass. The
// fixtures live outside the linted tree (they would fail it on purpose); they are linted in a
// temporary copy with the project's own overrides. Run by `npm run lint`, so by CI.
import { spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { commandOf } from "./run.mjs";

const FIXTURES = "scripts/boundary-fixtures";
const EXPECTED = {
  "src/modules/alpha/reach-depth-1.ts": "refused",
  "src/modules/alpha/reach-through-src.ts": "refused",
  "src/modules/alpha/reach-dot-slash.ts": "refused",
  "src/modules/alpha/sub/reach-depth-2.ts": "refused",
  "src/modules/alpha/sub/deep/reach-depth-3.ts": "refused",
  "src/modules/alpha/sub/deep/deeper/reach-depth-4.ts": "refused",
  "src/platform/reach-into-module.ts": "refused",
  "src/modules/alpha/sub/legal.ts": "passes",
  "src/modules/alpha/sub/deep/legal-depth-3.ts": "passes",
};

const project = JSON.parse(readFileSync("biome.json", "utf8"));
const dir = mkdtempSync(join(tmpdir(), "stratus-boundaries-"));
try {
  cpSync(FIXTURES, dir, { recursive: true });
  const config = { files: { includes: ["**"] }, linter: { rules: { preset: "none" } }, overrides: project.overrides };
  writeFileSync(join(dir, "biome.json"), JSON.stringify(config));
  const failures = [];
  for (const [file, expected] of Object.entries(EXPECTED)) {
    const biome = join(process.cwd(), "node_modules", "@biomejs", "biome", "bin", "biome");
    const [executable, args] = commandOf("node", [biome, "lint", "--config-path", dir, join(dir, file)]);
    const result = spawnSync(executable, args, { encoding: "utf8" });
    const output = result.stdout + result.stderr;
    // Refused by this rule, or passing cleanly: a crash or a configuration error is neither.
    const refused = result.status !== 0 && /noRestrictedImports/.test(output);
    const passed = result.status === 0 && !/noRestrictedImports/.test(output);
    if (expected === "refused" ? !refused : !passed) {
      failures.push(`${file}: expected it to be ${expected}, but biome said:\n${result.stdout}${result.stderr}`);
    }
  }
  if (failures.length > 0) {
    console.error(`The module-boundary rule does not hold:\n${failures.join("\n")}`);
    process.exit(1);
  }
  console.log("module boundaries: the planted reach-ins are refused, the legal imports pass");
} finally {
  rmSync(dir, { recursive: true, force: true });
}
