// `npm run bench:profile -- <route>`: where the CPU of one route goes, by workerd's V8 profiler.
// Serves the un-minified bundle (its source map names our files) on workerd as `npm run bench`
// does, sets up the bench user, warms the route, measures the workerd process's CPU per request
// without the profiler, then samples the chosen isolates' JavaScript through the inspector
// (Miniflare's `inspectorPort`) over the same load, and prints the busy time by isolate, by area
// (our modules, each library, the D1 binding, native calls by their JS caller) and the top
// functions, scaled to the unprofiled CPU per request (bench/profile-report.mjs).
//
// Routes: `chat` (non-streamed chat completion, default), `stream` (streamed), `me` (GET
// /v1/me), `health`. PROFILE_REQUESTS (300), PROFILE_CONCURRENCY (2), PROFILE_INTERVAL_US (100),
// PROFILE_TARGETS: `user` (the Worker and its Durable Objects: one isolate, default) or `all`
// (also Miniflare's own workers: the local D1, queues, the entry and outbound proxies). Sampling
// slows what it samples: the split is what counts, the scaled milliseconds are estimates.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { buildWorker, STRATUS_OPTIONS, serveBundle } from "../scripts/serve-bundle.mjs";
import { startOpenAISimulator } from "../simulators/openai.mjs";
import { chatBody } from "./ai.mjs";
import { cpuMs, withWorkerdPid } from "./cpu.mjs";
import { report } from "./profile-report.mjs";
import { benchBindings, benchPlan, legacyCredits, signUp } from "./setup.mjs";

const ROUTE = process.argv[2] ?? "chat";
const REQUESTS = Number(process.env.PROFILE_REQUESTS ?? 300);
const CONCURRENCY = Number(process.env.PROFILE_CONCURRENCY ?? 2);
const INTERVAL_US = Number(process.env.PROFILE_INTERVAL_US ?? 100);
const TARGETS = process.env.PROFILE_TARGETS ?? "user";
const INSPECTOR_PORT = Number(process.env.PROFILE_INSPECTOR_PORT ?? 9239);
/** After a load: the wallet's alarm ships its outbox, the copy consumer writes D1. */
const DRAIN_MS = 1500;
const out = "bench/.build/profile";
if (!["chat", "stream", "me", "health"].includes(ROUTE)) throw new Error(`unknown route ${ROUTE}`);

mkdirSync(out, { recursive: true });
// Not minified, with its source map: `wrangler deploy --dry-run --outdir` without `--minify`.
const script = buildWorker(join(out, "bundle"), { minify: false });
const openai = await startOpenAISimulator();
const server = await withWorkerdPid(() =>
  serveBundle(script, {
    bindings: benchBindings({ openaiUrl: openai.url, translateUrl: "http://127.0.0.1:9" }),
    ...STRATUS_OPTIONS,
    inspectorPort: INSPECTOR_PORT,
  }),
);

/** The inspector's sessions on the chosen isolates, with `send` for protocol calls. */
async function inspect() {
  const listed = await (await fetch(`http://127.0.0.1:${INSPECTOR_PORT}/json`)).json();
  const chosen = listed.filter((target) => TARGETS === "all" || target.webSocketDebuggerUrl.endsWith("/core:user:"));
  return Promise.all(
    chosen.map(async (target) => {
      const socket = new WebSocket(target.webSocketDebuggerUrl);
      await new Promise((resolve, reject) => {
        socket.onopen = resolve;
        socket.onerror = reject;
      });
      let lastId = 0;
      const pending = new Map();
      socket.onmessage = (event) => {
        const message = JSON.parse(event.data);
        const waiting = pending.get(message.id);
        if (!waiting) return;
        pending.delete(message.id);
        if (message.error) waiting.reject(new Error(JSON.stringify(message.error)));
        else waiting.resolve(message.result);
      };
      const send = (method, params = {}) =>
        new Promise((resolve, reject) => {
          const id = ++lastId;
          pending.set(id, { resolve, reject });
          socket.send(JSON.stringify({ id, method, params }));
        });
      return { name: target.webSocketDebuggerUrl.replace(/.*\//, ""), socket, send };
    }),
  );
}

try {
  const db = await server.mf.getD1Database("DB");
  const onBenchPlan = await benchPlan(db);
  const { user, tokens } = await signUp(server.url, {
    email: "bench@example.com",
    password: "a bench passphrase nobody uses",
  });
  await onBenchPlan(user.id);
  await legacyCredits(db, user.id);
  const auth = { authorization: `Bearer ${tokens.accessToken}` };
  const chat = (stream) => ({
    url: `${server.url}/v1/chat/completions`,
    init: { method: "POST", headers: { "content-type": "application/json", ...auth }, body: chatBody(stream) },
  });
  const { url, init } = {
    chat: chat(false),
    stream: chat(true),
    me: { url: `${server.url}/v1/me`, init: { headers: auth } },
    health: { url: `${server.url}/health`, init: {} },
  }[ROUTE];
  const drive = async (requests) => {
    let left = requests;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (left-- > 0) {
          const response = await fetch(url, init);
          const text = await response.text();
          if (response.status !== 200) throw new Error(`${ROUTE}: ${response.status} ${text}`);
        }
      }),
    );
  };
  /** The workerd process's CPU (ms) over a load and its drain. */
  const cpuOver = async (requests) => {
    const before = cpuMs(server.pid);
    await drive(requests);
    await sleep(DRAIN_MS);
    return cpuMs(server.pid) - before;
  };

  await drive(REQUESTS);
  await sleep(DRAIN_MS);
  const plain = await cpuOver(REQUESTS);
  const sessions = await inspect();
  for (const session of sessions) {
    await session.send("Profiler.enable");
    await session.send("Profiler.setSamplingInterval", { interval: INTERVAL_US });
    await session.send("Profiler.start");
  }
  const profiled = await cpuOver(REQUESTS);
  const profiles = [];
  for (const session of sessions) {
    const { profile } = await session.send("Profiler.stop");
    const file = join(out, `${ROUTE}-${session.name.replace(/[^\w.-]+/g, "_")}.cpuprofile`);
    writeFileSync(file, JSON.stringify(profile));
    profiles.push({ isolate: session.name, profile, file });
    session.socket.close();
  }
  report({
    route: ROUTE,
    requests: REQUESTS,
    concurrency: CONCURRENCY,
    intervalUs: INTERVAL_US,
    cpuMsPerRequest: plain / REQUESTS,
    profiledCpuMsPerRequest: profiled / REQUESTS,
    profiles,
    sourceMap: `${script}.map`,
  });
  console.log(`\nprofiles (open in Chrome DevTools' Performance panel): ${profiles.map((p) => p.file).join(" ")}`);
} finally {
  await server.mf.dispose();
  await openai.close();
}
