// The Portkey side-by-side of `npm run bench`: the Portkey OSS gateway (@portkey-ai/gateway 1.15.2)
// relaying the same chat completions to the same OpenAI simulator as Stratus, when it is installed.
// The bench never vendors Portkey's code: `npm run bench:portkey` (scripts/install-portkey.mjs)
// installs it in a scratch folder, PORTKEY_DIR (default bench/.portkey); without it the section is
// skipped and the commands that install it are printed.
//
// Portkey runs as its own Node process (its package's bin, build/start-server.js, with
// `--port=<n> --headless`), under the project's pinned Node (node_modules/node, else this Node),
// and sends a request to an OpenAI-compatible upstream given by its headers: `x-portkey-provider:
// openai` and `x-portkey-custom-host: <simulator>/v1`; the caller's `Authorization` goes upstream.
// Measured like bench/ai.mjs measures Stratus: a streamed chat completion, one client, sequential,
// alternating by round with the same request straight to the simulator: ms to the first SSE event,
// to the end, and the relay after the first event (its first read to its last); first a check that what Portkey
// streams is an SSE stream of the simulator's chunks, and after, a few streams from an upstream
// paced at 20 ms per event (a simulator scenario): Portkey 1.15.2 holds the first event of every
// stream for 25 ms (a setTimeout in its stream splitter), so with the instant simulator the whole
// answer arrives at once and the relay is ~0. Then non-streamed chat with autocannon and
// the CPU ms per request of the Portkey process (bench/cpu.mjs: utime + stime over the load and a
// drain), to set beside Stratus's workerd CPU ms per request.
//
// Run on its own: `node bench/portkey.mjs` starts the OpenAI simulator and Portkey and prints a
// table. BENCH_SECONDS (default 3), BENCH_ROUNDS (2), BENCH_CONNECTIONS (16), BENCH_AI_STREAMS
// (50 per side per round), BENCH_DRAIN_SECONDS (1), PORTKEY_DIR.
import { execFileSync, spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { createServer } from "node:net";
import { dirname, isAbsolute, join, relative, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath, pathToFileURL } from "node:url";
import autocannon from "autocannon";
import { startOpenAISimulator } from "../simulators/openai.mjs";
import { chatBody, streamed } from "./ai.mjs";
import { idleCpu, withCpu } from "./cpu.mjs";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");

/** Where the bench looks for Portkey's install. */
export const PORTKEY_DIR = process.env.PORTKEY_DIR ? resolve(process.env.PORTKEY_DIR) : join(ROOT, "bench", ".portkey");

/** As Portkey's own lockfile has them: newer @hono/node-server and hono break its streaming. */
export const PORTKEY_VERSIONS = { "@portkey-ai/gateway": "1.15.2", "@hono/node-server": "1.13.5", hono: "4.9.7" };

/** The Node that runs Portkey: the project's pinned one (package.json's `node`), else this one. */
const NODE = [join(ROOT, "node_modules", "node", "bin", "node"), join(ROOT, "node_modules", "node", "bin", "node.exe")]
  .filter(existsSync)
  .concat(process.execPath)[0];

const API_KEY = "sk-bench";

/** The commands that install Portkey in `dir` (what scripts/install-portkey.mjs does). */
export function installHint(dir = PORTKEY_DIR) {
  const near = relative(process.cwd(), dir);
  const shown = near && !near.startsWith("..") && !isAbsolute(near) ? near : dir;
  const versions = PORTKEY_VERSIONS;
  const fromDefault = dir === join(ROOT, "bench", ".portkey");
  return [
    `Portkey gateway not installed in ${shown}: its side-by-side is skipped. To install it:`,
    `  ${fromDefault ? "" : `PORTKEY_DIR=${shown} `}npm run bench:portkey`,
    "or by hand:",
    `  mkdir -p ${shown} && cd ${shown}`,
    "  npm init -y",
    `  npm pkg set overrides.hono=${versions.hono} overrides.@hono/node-server=${versions["@hono/node-server"]}`,
    `  npm install --ignore-scripts --save-exact ${Object.entries(versions)
      .map(([name, version]) => `${name}@${version}`)
      .join(" ")}`,
  ].join("\n");
}

/** The version of `name` as Portkey's package resolves it, or "missing". */
function resolvedVersion(dir, packageDir, name) {
  for (const base of [join(packageDir, "node_modules"), join(dir, "node_modules")]) {
    const manifest = join(base, ...name.split("/"), "package.json");
    if (existsSync(manifest)) return JSON.parse(readFileSync(manifest, "utf8")).version;
  }
  return "missing";
}

/**
 * Portkey's install in `dir`: its start script, the versions npm resolved and a warning when they
 * are not the pinned ones; null when it is not installed.
 */
export function findPortkey(dir = PORTKEY_DIR) {
  const packageDir = join(dir, "node_modules", "@portkey-ai", "gateway");
  const manifestPath = join(packageDir, "package.json");
  if (!existsSync(manifestPath)) return null;
  const manifest = JSON.parse(readFileSync(manifestPath, "utf8"));
  const bin = typeof manifest.bin === "string" ? manifest.bin : Object.values(manifest.bin ?? {})[0];
  const script = join(packageDir, bin ?? "build/start-server.js");
  if (!existsSync(script)) return null;
  const versions = {
    "@portkey-ai/gateway": manifest.version,
    "@hono/node-server": resolvedVersion(dir, packageDir, "@hono/node-server"),
    hono: resolvedVersion(dir, packageDir, "hono"),
  };
  const off = Object.entries(PORTKEY_VERSIONS).filter(([name, version]) => versions[name] !== version);
  const warning = off.length
    ? `Portkey's install has ${off.map(([name]) => `${name} ${versions[name]}`).join(", ")}, not the pinned ${off.map(([name, version]) => `${name} ${version}`).join(", ")}: reinstall it with \`npm run bench:portkey\``
    : undefined;
  return { dir, script, versions, warning };
}

/** A TCP port free on 127.0.0.1 now (Portkey takes a port number, not 0). */
function freePort() {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolvePort(port));
    });
  });
}

/**
 * Starts Portkey as a child process and waits until it answers. Portkey's server listens on every
 * interface (it passes no hostname to @hono/node-server); it is reached on 127.0.0.1.
 * @returns {Promise<{ url: string, pid: number, node: string, versions: object, close: () => Promise<void> }>}
 */
export async function startPortkey({ install = findPortkey(), timeoutMs = 20_000 } = {}) {
  if (!install) throw new Error(installHint());
  const port = await freePort();
  const env = { ...process.env, TRUSTED_CUSTOM_HOSTS: "127.0.0.1,localhost" };
  // The upstream is local: no proxy in between.
  for (const name of ["HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"]) delete env[name];
  const child = spawn(NODE, [install.script, `--port=${port}`, "--headless"], {
    cwd: install.dir,
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  // Its output (a start-up spinner, then errors if any) is kept for a failure's message only.
  let output = "";
  const keep = (data) => {
    output = (output + data).slice(-4000);
  };
  child.stdout.on("data", keep);
  child.stderr.on("data", keep);
  const exited = new Promise((resolveExit) => child.once("exit", (code, signal) => resolveExit(code ?? signal)));
  let gone = false;
  exited.then(() => {
    gone = true;
  });
  const killOnExit = () => child.kill("SIGKILL");
  process.once("exit", killOnExit);
  const close = async () => {
    process.off("exit", killOnExit);
    if (gone) return;
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), 3000);
    await exited;
    clearTimeout(timer);
  };

  const url = `http://127.0.0.1:${port}`;
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    if (gone) throw new Error(`Portkey exited at start-up (${await exited}):\n${output}`);
    try {
      const response = await fetch(`${url}/`);
      const text = await response.text();
      if (response.status === 200 && /gateway/i.test(text)) break;
    } catch {
      // Not listening yet.
    }
    if (performance.now() > deadline) {
      await close();
      throw new Error(`Portkey did not answer on ${url} within ${timeoutMs} ms:\n${output}`);
    }
    await sleep(50);
  }
  const node = execFileSync(NODE, ["--version"], { encoding: "utf8" }).trim();
  return { url, pid: child.pid, node, versions: install.versions, close };
}

/** The chat completion targets of bench/ai.mjs: straight to the simulator, and through Portkey to it. */
export function portkeyTargets(portkeyUrl, simulatorUrl) {
  const authorization = `Bearer ${API_KEY}`;
  return {
    direct: { url: `${simulatorUrl}/v1/chat/completions`, headers: { authorization } },
    portkey: {
      url: `${portkeyUrl}/v1/chat/completions`,
      headers: { authorization, "x-portkey-provider": "openai", "x-portkey-custom-host": `${simulatorUrl}/v1` },
    },
  };
}

/** One streamed completion read whole: its content type, how many reads it took, its SSE events. */
async function readStream(target) {
  const response = await fetch(target.url, {
    method: "POST",
    headers: { "content-type": "application/json", ...target.headers },
    body: chatBody(true),
  });
  const type = response.headers.get("content-type") ?? "";
  let text = "";
  let reads = 0;
  const decoder = new TextDecoder();
  for await (const chunk of response.body) {
    reads++;
    text += decoder.decode(chunk, { stream: true });
  }
  text += decoder.decode();
  const events = text
    .split(/\r?\n\r?\n/)
    .filter((event) => event.trim() !== "")
    .map((event) => {
      const data = event
        .split(/\r?\n/)
        .filter((line) => line.startsWith("data:"))
        .map((line) => line.slice(5).trimStart());
      return data.length ? data.join("\n") : undefined;
    });
  return { status: response.status, type, reads, text, events };
}

/** What a chunk says, without what differs by request (its id and time). */
function chunkContent(data) {
  if (data === "[DONE]") return data;
  const chunk = JSON.parse(data);
  return JSON.stringify({
    object: chunk.object,
    model: chunk.model,
    system_fingerprint: chunk.system_fingerprint,
    choices: chunk.choices?.map((choice) => ({
      index: choice.index,
      delta: choice.delta,
      finish_reason: choice.finish_reason,
    })),
  });
}

/**
 * Throws unless Portkey's streamed answer is an SSE stream (text/event-stream, `data:` events,
 * ending in [DONE]) of the simulator's chunks: the same chunks, in the same order, as the
 * simulator streams straight. Returns the events and the reads each side took.
 */
export async function checkPortkeyStream(targets) {
  const direct = await readStream(targets.direct);
  const portkey = await readStream(targets.portkey);
  const fail = (why) => {
    throw new Error(
      `Portkey's stream is not the simulator's: ${why}\n--- Portkey sent:\n${portkey.text.slice(0, 2000)}`,
    );
  };
  if (direct.status !== 200 || direct.events.length < 3)
    throw new Error(`the simulator's stream failed: ${direct.text}`);
  if (portkey.status !== 200) fail(`status ${portkey.status}`);
  if (!portkey.type.startsWith("text/event-stream")) fail(`content-type ${portkey.type}`);
  if (portkey.events.some((data) => data === undefined)) fail("an event without data");
  if (portkey.events.at(-1) !== "[DONE]") fail("it does not end with [DONE]");
  let contents;
  try {
    contents = portkey.events.map(chunkContent);
  } catch (error) {
    fail(`an event is not JSON (${error.message})`);
  }
  const expected = direct.events.map(chunkContent);
  if (contents.length !== expected.length) fail(`${contents.length} events, the simulator streams ${expected.length}`);
  const differs = contents.findIndex((content, index) => content !== expected[index]);
  if (differs !== -1) fail(`event ${differs} is ${contents[differs]}, the simulator's is ${expected[differs]}`);
  return { events: portkey.events.length, reads: { direct: direct.reads, portkey: portkey.reads } };
}

/**
 * Streamed latencies as bench/ai.mjs's streamLatencies, with Portkey for Stratus: one client,
 * `streams` per side per round, alternating sides by round; each sample also has `relay`, the ms
 * from the first read of the body to its last.
 * @returns {Promise<{ direct: { first: number, total: number, relay: number }[], portkey: { first: number, total: number, relay: number }[] }>}
 */
export async function portkeyStreamLatencies(targets, { rounds, streams, warmup = 20 }) {
  const sample = streamed;
  for (const target of Object.values(targets)) for (let i = 0; i < warmup; i++) await sample(target);
  const samples = { direct: [], portkey: [] };
  for (let round = 0; round < rounds; round++) {
    for (const name of round % 2 === 0 ? ["direct", "portkey"] : ["portkey", "direct"]) {
      for (let i = 0; i < streams; i++) samples[name].push(await sample(targets[name]));
    }
  }
  return samples;
}

/**
 * Streams from a paced upstream: the simulator waits `tokenDelayMs` between events (a scenario of
 * its own, removed after), so that a relay that holds or buffers events shows. Alternating sides,
 * `streams` each: ms to the first event, to the end, the relay after the first event, and how many
 * events the first read held.
 */
export async function pacedStreams(targets, simulatorUrl, { tokenDelayMs = 20, streams = 5 } = {}) {
  const scenario = `${simulatorUrl}/__sim/scenarios/bench-portkey-paced`;
  const defined = await fetch(scenario, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ steps: [{ tokenDelayMs }] }),
  });
  if (defined.status !== 200) throw new Error(`the simulator refused the paced scenario: ${await defined.text()}`);
  const body = JSON.stringify({
    ...JSON.parse(chatBody(true)),
    messages: [{ role: "user", content: "[scenario:bench-portkey-paced] Tell me about the edge." }],
  });
  const one = async (target) => {
    const started = performance.now();
    const response = await fetch(target.url, {
      method: "POST",
      headers: { "content-type": "application/json", ...target.headers },
      body,
    });
    if (response.status !== 200) throw new Error(`paced stream failed: ${response.status} ${await response.text()}`);
    const decoder = new TextDecoder();
    let first;
    let firstEvents;
    for await (const chunk of response.body) {
      if (first === undefined) {
        first = performance.now() - started;
        firstEvents = decoder.decode(chunk).split(/\r?\n\r?\n/).length - 1;
      }
    }
    const total = performance.now() - started;
    return { first, total, relay: total - first, firstEvents };
  };
  const samples = { direct: [], portkey: [] };
  try {
    for (let i = 0; i < streams; i++) {
      for (const name of i % 2 === 0 ? ["direct", "portkey"] : ["portkey", "direct"]) {
        samples[name].push(await one(targets[name]));
      }
    }
  } finally {
    await fetch(scenario, { method: "DELETE" });
  }
  return { tokenDelayMs, ...samples };
}

/** Non-streamed chat completions under autocannon for `seconds`: requests/s, p50, p99 and the count. */
export function chatLoad(target, { connections, seconds }) {
  return new Promise((resolveLoad, reject) => {
    autocannon(
      {
        url: target.url,
        connections,
        duration: seconds,
        method: "POST",
        headers: { "content-type": "application/json", ...target.headers },
        body: chatBody(false),
      },
      (error, result) => {
        if (error) reject(error);
        else if (result.non2xx > 0 || result.errors > 0)
          reject(new Error(`${target.url}: ${result.non2xx} non-2xx, ${result.errors} errors`));
        else
          resolveLoad({
            rps: result.requests.average,
            p50: result.latency.p50,
            p99: result.latency.p99,
            requests: result.requests.total,
          });
      },
    );
  });
}

/** `chatLoad` through Portkey with the CPU of its process (bench/cpu.mjs): the sample gains `cpu`. */
export function portkeyChatLoad(portkey, target, { connections, seconds, drainMs }) {
  return withCpu(portkey.pid, () => chatLoad(target, { connections, seconds }), { drainMs });
}

/**
 * The whole Portkey section against the OpenAI simulator at `simulatorUrl`: starts Portkey, checks
 * its stream, measures streamed latencies (with the simulator straight, same rounds), its idle CPU,
 * then non-streamed chat through it (with its CPU) and straight, alternating by round; stops it.
 * Returns null, having printed how to install it, when Portkey is not installed.
 */
export async function benchPortkey({
  simulatorUrl,
  rounds = 2,
  streams = 50,
  seconds = 3,
  connections = 16,
  drainMs = 1000,
  idleMs = 1000,
  log = console.log,
}) {
  const install = findPortkey();
  if (!install) {
    log(`\n${installHint()}`);
    return null;
  }
  if (install.warning) log(`\n${install.warning}`);
  const portkey = await startPortkey({ install });
  try {
    const targets = portkeyTargets(portkey.url, simulatorUrl);
    const check = await checkPortkeyStream(targets);
    const stream = await portkeyStreamLatencies(targets, { rounds, streams });
    const paced = await pacedStreams(targets, simulatorUrl);
    await autocannon({
      url: targets.portkey.url,
      method: "POST",
      headers: { "content-type": "application/json", ...targets.portkey.headers },
      body: chatBody(false),
      connections,
      amount: 500,
    });
    await sleep(drainMs);
    const idle = await idleCpu(portkey.pid, idleMs);
    const chat = { direct: [], portkey: [] };
    const loads = {
      direct: () => chatLoad(targets.direct, { connections, seconds }),
      portkey: () => portkeyChatLoad(portkey, targets.portkey, { connections, seconds, drainMs }),
    };
    for (let round = 0; round < rounds; round++) {
      for (const name of round % 2 === 0 ? ["direct", "portkey"] : ["portkey", "direct"]) {
        chat[name].push(await loads[name]());
      }
    }
    return {
      versions: portkey.versions,
      node: portkey.node,
      check,
      stream,
      paced,
      idle,
      chat,
      settings: { rounds, streams, seconds, connections, drainMs },
    };
  } finally {
    await portkey.close();
  }
}

export const percentile = (values, p) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
};

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
};

/**
 * The figures to set beside Stratus's: streamed p50/p99 (ms) of first event, end and relay per
 * side; non-streamed requests/s, p50, p99 (median of rounds) per side; Portkey's CPU ms/request.
 */
export function summarizePortkey(result) {
  const streams = {};
  for (const [name, samples] of Object.entries(result.stream)) {
    streams[name] = {};
    for (const key of ["first", "total", "relay"]) {
      const values = samples.map((sample) => sample[key]);
      streams[name][key] = { p50: percentile(values, 50), p99: percentile(values, 99) };
    }
  }
  const chat = {};
  for (const [name, samples] of Object.entries(result.chat)) {
    chat[name] = {
      rps: median(samples.map((s) => s.rps)),
      p50: median(samples.map((s) => s.p50)),
      p99: median(samples.map((s) => s.p99)),
      requests: median(samples.map((s) => s.requests)),
    };
  }
  const cpu = (pick) => median(result.chat.portkey.map((s) => pick(s.cpu)));
  return {
    streamed: streams,
    chat,
    cpuMsPerRequest: cpu((c) => c.msPerRequest),
    drainCpuMsPerRequest: cpu((c) => c.drainMsPerRequest),
    tailCpuMs: cpu((c) => c.tailMs),
    idleCpuMsPerS: result.idle,
  };
}

/** Prints the section's table. */
export function printPortkey(result, log = console.log) {
  if (!result) return;
  const { settings, check } = result;
  const summary = summarizePortkey(result);
  const versions = Object.entries(result.versions)
    .map(([name, version]) => `${name} ${version}`)
    .join(", ");
  log(`\nPortkey OSS gateway (${versions}; Node ${result.node}), same OpenAI simulator`);
  log(
    `stream check: ${check.events} SSE events, the simulator's chunks; one stream arrived in ${check.reads.portkey} read(s) through Portkey, ${check.reads.direct} straight`,
  );
  log(
    `streamed chat completion, one client, ${result.stream.portkey.length} per side (added = Portkey − direct); relay = first read to last`,
  );
  for (const [label, key] of [
    ["first event", "first"],
    ["total", "total"],
    ["relay", "relay"],
  ]) {
    const line = ["p50", "p99"]
      .map((p) => {
        const through = summary.streamed.portkey[key][p];
        const straight = summary.streamed.direct[key][p];
        return `${p} ${through.toFixed(1)} vs ${straight.toFixed(1)} ms (added ${(through - straight).toFixed(1)} ms)`;
      })
      .join("; ");
    log(`${label.padEnd(12)} ${line}`);
  }
  const { paced } = result;
  const pacedLine = ["first", "total", "relay"]
    .map((key) => {
      const of = (name) => median(paced[name].map((sample) => sample[key])).toFixed(1);
      return `${key === "first" ? "first event" : key} ${of("portkey")} vs ${of("direct")} ms`;
    })
    .join("; ");
  const firstEvents = (name) => median(paced[name].map((sample) => sample.firstEvents));
  log(
    `paced upstream (${paced.tokenDelayMs} ms between events), ${paced.portkey.length} per side, medians: ${pacedLine}; events in the first read ${firstEvents("portkey")} vs ${firstEvents("direct")}`,
  );
  log(
    `non-streamed chat completion, ${settings.rounds} rounds × ${settings.seconds}s, ${settings.connections} connections; median of rounds`,
  );
  log("route            server      req/s    p50 ms  p99 ms  ratio");
  const direct = summary.chat.direct.rps;
  for (const [label, server, name] of [
    ["chat direct", "simulator", "direct"],
    ["chat portkey", "portkey", "portkey"],
  ]) {
    const { rps, p50, p99 } = summary.chat[name];
    log(
      `${label.padEnd(16)} ${server.padEnd(9)} ${rps.toFixed(0).padStart(7)}  ${String(p50).padStart(6)}  ${String(p99).padStart(6)}  ${(rps / direct).toFixed(2)}`,
    );
  }
  log(
    `Portkey CPU ms/request: ${summary.cpuMsPerRequest.toFixed(2)} (its Node process, utime + stime over the load plus ${settings.drainMs / 1000} s of drain, ÷ requests; of it drain ${summary.drainCpuMsPerRequest.toFixed(2)}; idle ${summary.idleCpuMsPerS.toFixed(0)} ms/s)`,
  );
}

// `node bench/portkey.mjs`: the section on its own, against a simulator of its own.
if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const simulator = await startOpenAISimulator();
  try {
    const result = await benchPortkey({
      simulatorUrl: simulator.url,
      rounds: Number(process.env.BENCH_ROUNDS ?? 2),
      streams: Number(process.env.BENCH_AI_STREAMS ?? 50),
      seconds: Number(process.env.BENCH_SECONDS ?? 3),
      connections: Number(process.env.BENCH_CONNECTIONS ?? 16),
      drainMs: Number(process.env.BENCH_DRAIN_SECONDS ?? 1) * 1000,
    });
    if (result) printPortkey(result);
    else process.exitCode = 1;
  } finally {
    await simulator.close();
  }
}
