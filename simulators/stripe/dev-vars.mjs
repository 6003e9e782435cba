// @ts-check
// .dev.vars reading, for the scripts that start the simulator or send its events.
import { readFileSync } from "node:fs";

/**
 * The variables of a .dev.vars file: KEY=value lines, values optionally in single or double
 * quotes, full-line # comments. A missing file has none.
 * @returns {Record<string, string>}
 */
export function readDevVars(path = ".dev.vars") {
  let text;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    return {};
  }
  /** @type {Record<string, string>} */
  const vars = {};
  for (const line of text.split(/\r?\n/)) {
    const match = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$/.exec(line);
    if (!match?.[1] || match[2] === undefined) continue;
    const value = match[2];
    const quoted = value.length >= 2 && (value[0] === '"' || value[0] === "'") && value.at(-1) === value[0];
    vars[match[1]] = quoted ? value.slice(1, -1) : value;
  }
  return vars;
}
