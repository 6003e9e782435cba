// The report of `npm run bench:profile` (bench/profile.mjs): V8 CPU profiles of workerd's
// isolates summed by isolate, by area and by function. Our bundle's positions are mapped to
// their sources through its source map; a native call (fetch, SQLite's exec) is put under the
// nearest JavaScript caller. Milliseconds per request are the profiled share of each, scaled to
// the process's CPU per request measured without the profiler.
import { readFileSync } from "node:fs";
import { SourceMapConsumer } from "source-map-js";

const TOP = Number(process.env.PROFILE_TOP ?? 40);
const SAMPLER_FRAMES = new Set(["(idle)", "(program)", "(garbage collector)", "(root)"]);

const shortSource = (source) =>
  source
    .replace(/^(\.\.\/)+/, "/")
    .replace(/^.*?\/(src|durable-objects)\//, "$1/")
    .replace(/^.*node_modules\//, "npm:");

/** What a frame belongs to: one of our modules, a library, the runtime, or the sampler's own. */
function areaOf(isolate, name, source) {
  if (name === "(garbage collector)") return "GC";
  if (name === "(program)") return "(program): native, unattributed";
  if (isolate !== "core:user:") return `Miniflare's ${isolate}`;
  if (!source) return "native";
  if (source.startsWith("cloudflare-internal:d1")) return "D1 binding";
  if (source.startsWith("cloudflare-internal:") || source.startsWith("node-internal:")) return `runtime ${source}`;
  if (source.startsWith("npm:"))
    return `npm ${source.split("/")[0].slice(4)}${source.startsWith("npm:@") ? `/${source.split("/")[1]}` : ""}`;
  if (source.startsWith("src/modules/")) return `module ${source.slice(12).split("/").slice(0, 2).join("/")}`;
  if (source.startsWith("src/")) return source.replace(/\.ts$/, "");
  return source;
}

/**
 * Prints the report. `profiles`: [{ isolate, profile }]; `sourceMap`: the bundle's map;
 * `cpuMsPerRequest` (unprofiled) scales the profiled busy time.
 */
export function report({
  route,
  requests,
  concurrency,
  intervalUs,
  cpuMsPerRequest,
  profiledCpuMsPerRequest,
  profiles,
  sourceMap,
}) {
  const map = new SourceMapConsumer(JSON.parse(readFileSync(sourceMap, "utf8")));
  const position = (frame) => {
    if (frame.url !== "index.js" || frame.lineNumber < 0) return { source: frame.url, line: frame.lineNumber + 1 };
    const mapped = map.originalPositionFor({ line: frame.lineNumber + 1, column: frame.columnNumber });
    return mapped.source
      ? { source: shortSource(mapped.source), line: mapped.line }
      : { source: "index.js", line: frame.lineNumber + 1 };
  };
  const byIsolate = new Map();
  const byArea = new Map();
  const byFunction = new Map();
  const add = (table, key, ms) => table.set(key, (table.get(key) ?? 0) + ms);
  let busy = 0;
  for (const { isolate, profile } of profiles) {
    const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
    const parentOf = new Map();
    for (const node of profile.nodes) for (const child of node.children ?? []) parentOf.set(child, node.id);
    const self = new Map();
    for (const [index, id] of profile.samples.entries()) {
      add(self, id, (profile.timeDeltas[index + 1] ?? intervalUs) / 1000);
    }
    for (const [id, ms] of self) {
      const frame = nodes.get(id).callFrame;
      const name = frame.functionName || "(anonymous)";
      if (name === "(idle)") continue;
      let { source, line } = SAMPLER_FRAMES.has(name) ? { source: "", line: 0 } : position(frame);
      let area = areaOf(isolate, name, source);
      let where = source ? `${source}:${line}` : "";
      if (area === "native") {
        // A native call: named by the nearest caller that has a position.
        for (let up = parentOf.get(id); up !== undefined; up = parentOf.get(up)) {
          const caller = nodes.get(up).callFrame;
          if (!caller.url || caller.lineNumber < 0) continue;
          ({ source, line } = position(caller));
          area = `native ${name} under ${areaOf(isolate, caller.functionName, source)}`;
          where = `under ${caller.functionName || "(anonymous)"} ${source}:${line}`;
          break;
        }
      }
      add(byIsolate, isolate, ms);
      add(byArea, area, ms);
      add(byFunction, `${name}  ${where}  [${isolate}]`, ms);
      busy += ms;
    }
  }
  const scale = cpuMsPerRequest / (busy / requests);
  const percent = (ms) => `${((100 * ms) / busy).toFixed(1).padStart(5)}%`;
  const perRequest = (ms) => `${((ms / requests) * scale).toFixed(3).padStart(7)} ms`;
  const table = (title, entries, limit = Number.POSITIVE_INFINITY) => {
    console.log(`\n${title}`);
    for (const [key, ms] of [...entries].sort((a, b) => b[1] - a[1]).slice(0, limit))
      console.log(`  ${percent(ms)} ${perRequest(ms)}  ${key}`);
  };
  console.log(
    `${route}: ${requests} requests, ${concurrency} at a time, sampled every ${intervalUs} µs\n` +
      `workerd process CPU per request: ${cpuMsPerRequest.toFixed(2)} ms unprofiled, ${profiledCpuMsPerRequest.toFixed(2)} ms profiled; ` +
      `sampled busy time ${(busy / requests).toFixed(2)} ms per request, scaled ×${scale.toFixed(3)} below`,
  );
  table("by isolate", byIsolate);
  table("by area", byArea);
  table(`top ${TOP} functions (self time)`, byFunction, TOP);
}
