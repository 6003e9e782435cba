// Runs the project's tools from scripts: with stdin closed, so wrangler's confirmations take
// their default instead of waiting on a terminal, failing loudly when they fail. Local tools run
// as their scripts under this Node: a bare `wrangler` is a `.cmd` shim on Windows, which
// `spawn` cannot start without a shell.
import { spawnSync } from "node:child_process";
import { join } from "node:path";

const LOCAL_TOOLS = { wrangler: join("node_modules", "wrangler", "bin", "wrangler.js") };

/** The executable and arguments that run `command` on every platform. */
export function commandOf(command, args) {
  if (command === "node") return [process.execPath, args];
  const script = LOCAL_TOOLS[command];
  return script ? [process.execPath, [script, ...args]] : [command, args];
}

export function run(command, args, options = {}) {
  const [executable, fullArgs] = commandOf(command, args);
  const result = spawnSync(executable, fullArgs, { stdio: ["ignore", "inherit", "inherit"], ...options });
  if (result.status !== 0) {
    console.error(`\n${command} ${args.join(" ")} failed (exit ${result.status ?? result.signal})`);
    process.exit(result.status ?? 1);
  }
}
