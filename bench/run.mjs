// `npm run bench`: builds the minified Stratus bundle and a bare Hono baseline, serves each on
// workerd through the Miniflare API (local D1, KV and R2, as in production; `wrangler dev`
// would measure its own proxy), and load-tests the same routes on both in the same run.
// Prints requests/s, p50 and p99 per route, the ratio to the baseline, and the gzip bundle
// size. Rounds alternate baseline and Stratus so machine noise hits both alike.
// Then identity: authenticated GET /v1/me as a ratio to Stratus's own GET /health in the
// same rounds; rate limiting: GET /v1/me limited (one limiter call), with an org-wide cap (two)
// and as an exempt admin (none), and the decision's p50/p99 from `Server-Timing: limit`; and
// the latency of login (one client, sequential: PBKDF2 dominates); the Stripe webhook's latency;
// and the account wallet's hold + settle round trip (bench/ledger-worker.ts: one account's
// AccountWallet behind HTTP, consuming its own copy queue) against a no-op route of the same
// worker; and the AI gateway's overhead: a chat completion through Stratus versus straight to
// the OpenAI simulator and through a bare pass-through Worker on the same workerd, streamed (time
// to the first event, the relay of the rest, the end) and not (requests/s), the non-streamed one
// also as a ratio to authenticated GET /v1/me loaded in the same rounds; and translation of a
// 128-segment batch, cached and not (bench/translate.mjs); and single-shot uploads through POST
// /v1/files against a bare R2 put of the same bytes (bench/files.mjs).
// CPU ms per request (bench/cpu.mjs) of chat streamed and not, the wallet's hold + settle and GET
// /v1/me: the utime + stime of the server's workerd process over the load plus a drain after it
// (the wallet's alarm ships its outbox, the copy consumer writes D1), over the requests
// completed. Each server runs on one workerd thread here, so requests/s ≈ 1000 ÷ CPU ms.
// Then that the bench user's legacy D1 credits moved into its wallet and the D1 copy caught up;
// the Portkey OSS gateway side by side when installed (bench/portkey.mjs); and last the hot
// path's targets (issue #16), each met or missed in this run.
//
//   BENCH_SECONDS (default 5)  BENCH_ROUNDS (default 3)  BENCH_CONNECTIONS (default 16)
//   BENCH_DRAIN_SECONDS (default 3)
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { gzipSync } from "node:zlib";
import autocannon from "autocannon";
import { build } from "esbuild";
import Stripe from "stripe";
import { buildWorker, STRATUS_OPTIONS, serveBundle } from "../scripts/serve-bundle.mjs";
import { startOpenAISimulator } from "../simulators/openai.mjs";
import { startTranslateSimulator } from "../simulators/translate.mjs";
import { chatBody, streamLatencies } from "./ai.mjs";
import { idleCpu, withCpu, withWorkerdPid } from "./cpu.mjs";
import { benchUploads, UPLOAD_SIZES } from "./files.mjs";
import { benchPortkey, printPortkey, summarizePortkey } from "./portkey.mjs";
import { benchBindings, benchPlan, legacyCredits, postTo, signUp, WEBHOOK_SECRET } from "./setup.mjs";
import { benchTranslation } from "./translate.mjs";
import { checkMigration, describeWait, waitForCopy } from "./wallet.mjs";

const seconds = Number(process.env.BENCH_SECONDS ?? 5);
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 16);
const drainMs = Number(process.env.BENCH_DRAIN_SECONDS ?? 3) * 1000;
const out = "bench/.build";
const ROUTES = ["/health", "/health/ready"];
const LOGINS = Number(process.env.BENCH_LOGINS ?? 40);
const WEBHOOKS = Number(process.env.BENCH_WEBHOOKS ?? 400);

mkdirSync(out, { recursive: true });
buildWorker(join(out, "stratus"));
await build({
  entryPoints: ["bench/baseline.ts"],
  bundle: true,
  minify: true,
  format: "esm",
  platform: "neutral",
  outfile: join(out, "baseline", "index.js"),
  logLevel: "warning",
});

await build({
  entryPoints: ["bench/ledger-worker.ts"],
  bundle: true,
  minify: true,
  format: "esm",
  platform: "neutral",
  mainFields: ["module", "main"],
  conditions: ["workerd", "worker", "import"],
  // The wallet's class extends `DurableObject` from the runtime's own module.
  external: ["cloudflare:*"],
  outfile: join(out, "ledger", "index.js"),
  logLevel: "warning",
});

const openaiSimulator = await startOpenAISimulator();
const translateSimulator = await startTranslateSimulator({ latencyMs: 50 });
const BINDINGS = benchBindings({ openaiUrl: openaiSimulator.url, translateUrl: translateSimulator.url });

/** One server (its own Miniflare, so its own workerd process: `pid`); servers start one by one. */
const serve = (scriptPath, { bindings = BINDINGS, ...extra } = {}) =>
  withWorkerdPid(() => serveBundle(scriptPath, { bindings, ...extra }));

function load(url, headers = {}, method = "GET", body = undefined) {
  return new Promise((resolve, reject) => {
    autocannon({ url, connections, duration: seconds, headers, method, body }, (error, result) => {
      if (error) reject(error);
      else if (result.non2xx > 0 || result.errors > 0)
        reject(new Error(`${url}: ${result.non2xx} non-2xx, ${result.errors} errors`));
      else
        resolve({
          rps: result.requests.average,
          p50: result.latency.p50,
          p99: result.latency.p99,
          requests: result.requests.total,
        });
    });
  });
}

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
};

const servers = {
  baseline: await serve(join(out, "baseline", "index.js")),
  stratus: await serve(join(out, "stratus", "index.js"), STRATUS_OPTIONS),
  // The wallet behind HTTP, with its copy queue and consumer. It never calls the limiter, but
  // its copy consumer reads the configuration, which requires every binding.
  ledger: await serve(join(out, "ledger", "index.js"), {
    ...STRATUS_OPTIONS,
    bindings: { ...BINDINGS, RATE_LIMITER: { unused: true } },
    durableObjects: { ACCOUNT_WALLET: STRATUS_OPTIONS.durableObjects.ACCOUNT_WALLET },
  }),
};
const samples = {};
/** `load()` with its server's CPU over the load and the drain after it (bench/cpu.mjs). */
const measured = (server, load) => withCpu(server.pid, load, { drainMs });
const record = (key, sample) => {
  samples[key] = [...(samples[key] ?? []), sample];
};
const credentials = { email: "bench@example.com", password: "a bench passphrase nobody uses" };
const loginLatencies = [];
const decisionTimes = {};
const webhookLatencies = [];
const AI_STREAMS = Number(process.env.BENCH_AI_STREAMS ?? 100);
let aiStreams = { direct: [], passthrough: [], jsRelay: [], stratus: [] };
let portkey = null;
const DECISIONS = 2000;
const TRANSLATIONS = Number(process.env.BENCH_TRANSLATIONS ?? 100);
let translation = { cached: [], uncached: [] };
const UPLOADS = Number(process.env.BENCH_UPLOADS ?? 6);
let uploads = {};
let walletCheck;
/** workerd CPU with no load (ms per second), measured before the CPU sections. */
const idle = {};
const IDLE_MS = 2000;
let ledgerCopy;
const DECISION_CLIENTS = [1, 4];
try {
  for (const route of ROUTES) {
    // Warm both isolates before measuring.
    for (const server of Object.values(servers))
      await autocannon({ url: server.url + route, connections, amount: 500 });
    for (let round = 0; round < rounds; round++) {
      for (const name of round % 2 === 0 ? ["baseline", "stratus"] : ["stratus", "baseline"]) {
        record(`${name} ${route}`, await load(servers[name].url + route));
      }
    }
  }

  const stratus = servers.stratus.url;
  const db = await servers.stratus.mf.getD1Database("DB");
  const post = postTo(stratus);
  const onBenchPlan = await benchPlan(db);

  const { user, tokens } = await signUp(stratus, credentials);
  await onBenchPlan(user.id);
  const auth = { authorization: `Bearer ${tokens.accessToken}` };
  const org = await (await post("/v1/orgs", { name: "Bench Org" }, auth)).json();
  await onBenchPlan(org.id);
  const inOrg = { ...auth, "x-stratus-org": org.id };
  const adminCredentials = { email: "bench-admin@example.com", password: credentials.password };
  const admin = await signUp(stratus, adminCredentials);
  await db.prepare("UPDATE users SET role = 'admin' WHERE id = ?").bind(admin.user.id).run();
  const adminLogin = await (await post("/v1/auth/login", adminCredentials)).json();
  const exempt = { authorization: `Bearer ${adminLogin.tokens.accessToken}` };

  // The AI gateway's latency comes first, on a quiet server: the load sections below leave
  // work behind them (limiter alarms, settlements, a grown heap) that would land in its tail.
  // The bench user gets credits as a pre-wallet account had them (setup.mjs).
  await legacyCredits(db, user.id);
  const chatTargets = {
    direct: { url: `${openaiSimulator.url}/v1/chat/completions`, headers: { authorization: "Bearer sk-bench" } },
    stratus: { url: `${stratus}/v1/chat/completions`, headers: auth },
  };
  aiStreams = await streamLatencies(
    {
      ...chatTargets,
      passthrough: { url: `${servers.baseline.url}/v1/chat/completions`, headers: {} },
      jsRelay: { url: `${servers.baseline.url}/js/v1/chat/completions`, headers: {} },
    },
    { rounds, streams: AI_STREAMS },
  );

  for (const headers of [auth, inOrg, exempt]) {
    await autocannon({ url: `${stratus}/v1/me`, connections, amount: 500, headers });
  }
  for (let round = 0; round < rounds; round++) {
    record("me /health", await load(`${stratus}/health`));
    const limited = await load(`${stratus}/v1/me`, auth);
    record("me /v1/me", limited);
    record("limits on", limited);
    record("limits off", await load(`${stratus}/v1/me`, exempt));
    record("limits org", await load(`${stratus}/v1/me`, inOrg));
  }
  // The decision's own time, from `Server-Timing: limit;dur=…`: one client alone (the decision
  // itself), then 4 at once (with queueing for this machine's two cores).
  for (const clients of DECISION_CLIENTS) {
    for (const [name, headers] of [
      ["user", auth],
      ["org", inOrg],
    ]) {
      decisionTimes[`${name}, ${clients} client${clients > 1 ? "s" : ""}`] = (
        await Promise.all(
          Array.from({ length: clients }, async () => {
            const times = [];
            for (let i = 0; i < DECISIONS / clients; i++) {
              const response = await fetch(`${stratus}/v1/me`, { headers });
              await response.arrayBuffer();
              times.push(Number(/limit;dur=([\d.]+)/.exec(response.headers.get("server-timing") ?? "")?.[1]));
            }
            return times;
          }),
        )
      ).flat();
    }
  }

  // Stripe webhooks: verify the signature, store the event, enqueue it; each delivery a new
  // event, from 4 clients at once. The queue's consumer is not part of the answer.
  webhookLatencies.push(
    ...(
      await Promise.all(
        Array.from({ length: 4 }, async (_, client) => {
          const times = [];
          for (let i = 0; i < WEBHOOKS / 4; i++) {
            const payload = JSON.stringify({
              id: `evt_bench_${client}_${i}`,
              object: "event",
              type: "customer.created",
              data: { object: { id: `cus_bench_${client}_${i}`, object: "customer" } },
            });
            const signature = Stripe.webhooks.generateTestHeaderString({ payload, secret: WEBHOOK_SECRET });
            const started = performance.now();
            const response = await fetch(`${stratus}/v1/billing/webhook`, {
              method: "POST",
              headers: { "content-type": "application/json", "stripe-signature": signature },
              body: payload,
            });
            await response.arrayBuffer();
            if (response.status !== 200) throw new Error(`webhook failed: ${response.status}`);
            times.push(performance.now() - started);
          }
          return times;
        }),
      )
    ).flat(),
  );

  // The wallet: every round trip is two calls to one account's wallet (hold, settle).
  const ledger = servers.ledger.url;
  for (const path of ["/fund", "/roundtrip"]) {
    const response = await fetch(`${ledger}${path}`, { method: "POST" });
    if (response.status !== 200) throw new Error(`ledger ${path} failed: ${await response.text()}`);
  }
  await autocannon({ url: `${ledger}/roundtrip`, method: "POST", connections, amount: 300 });
  await sleep(drainMs);
  idle.wallet = await idleCpu(servers.ledger.pid, IDLE_MS);
  for (let round = 0; round < rounds; round++) {
    record("ledger noop", await load(`${ledger}/noop`));
    record("ledger roundtrip", await measured(servers.ledger, () => load(`${ledger}/roundtrip`, {}, "POST")));
  }

  // Non-streamed chat completions: straight to the simulator, and through Stratus in the same
  // rounds as authenticated GET /v1/me (the ratio's base); /v1/me and chat swap order by round.
  const chatLoads = {
    direct: () =>
      load(
        chatTargets.direct.url,
        { "content-type": "application/json", ...chatTargets.direct.headers },
        "POST",
        chatBody(false),
      ),
    stratus: () =>
      measured(servers.stratus, () =>
        load(
          chatTargets.stratus.url,
          { "content-type": "application/json", ...chatTargets.stratus.headers },
          "POST",
          chatBody(false),
        ),
      ),
    stream: () =>
      measured(servers.stratus, () =>
        load(
          chatTargets.stratus.url,
          { "content-type": "application/json", ...chatTargets.stratus.headers },
          "POST",
          chatBody(true),
        ),
      ),
    me: () => measured(servers.stratus, () => load(`${stratus}/v1/me`, auth)),
  };
  await autocannon({
    url: chatTargets.stratus.url,
    method: "POST",
    headers: { "content-type": "application/json", ...auth },
    body: chatBody(false),
    connections,
    amount: 300,
  });
  // What the sections before left behind (alarms, the copy) lands before the first window.
  await sleep(drainMs);
  idle.stratus = await idleCpu(servers.stratus.pid, IDLE_MS);
  for (let round = 0; round < rounds; round++) {
    for (const name of round % 2 === 0
      ? ["direct", "me", "stratus", "stream"]
      : ["stream", "stratus", "me", "direct"]) {
      record(`ai ${name}`, await chatLoads[name]());
    }
  }

  // The bench user's credits were legacy D1 rows: its wallet took them over at its first touch.
  // Once the copy has drained, the wallet's balances equal the sums of the copied ledger rows.
  walletCheck = await checkMigration({ db, userId: user.id, stratus, auth });
  // The bench account's wallet itself, through Miniflare (bench/ledger-worker.ts names it).
  const wallets = await servers.ledger.mf.getDurableObjectNamespace("ACCOUNT_WALLET");
  const benchWallet = wallets.get(wallets.idFromName("usr_bench"));
  ledgerCopy = await waitForCopy({
    db: await servers.ledger.mf.getD1Database("DB"),
    accountId: "usr_bench",
    // Plain values: what Miniflare answers is a proxy into the runtime, poisoned once it is disposed.
    wallet: async () => {
      const { balances, holds } = await benchWallet.balance("usr_bench");
      return { balances: { included: balances.included, purchased: balances.purchased }, holds: [...holds] };
    },
  });

  translation = await benchTranslation({ url: stratus, headers: auth, requests: TRANSLATIONS });
  uploads = await benchUploads({
    stratus,
    headers: auth,
    baseline: servers.baseline.url,
    sizes: UPLOAD_SIZES,
    rounds,
    uploads: UPLOADS,
  });

  for (let i = 0; i < LOGINS; i++) {
    const started = performance.now();
    const response = await post("/v1/auth/login", credentials);
    await response.arrayBuffer();
    if (response.status !== 200) throw new Error(`login failed: ${response.status}`);
    loginLatencies.push(performance.now() - started);
  }

  // Last, the Portkey OSS gateway against the same simulator, when installed (bench/portkey.mjs).
  portkey = await benchPortkey({
    simulatorUrl: openaiSimulator.url,
    rounds,
    streams: AI_STREAMS,
    seconds,
    connections,
    drainMs,
  });
} finally {
  await Promise.all([
    ...Object.values(servers).map((server) => server.mf.dispose()),
    openaiSimulator.close(),
    translateSimulator.close(),
  ]);
}

const percentile = (values, p) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
};

console.log(`\n${rounds} rounds × ${seconds}s, ${connections} connections; median of rounds\n`);
console.log("route            server     req/s    p50 ms  p99 ms  ratio");
const row = (label, name, list, base) => {
  const rps = median(list.map((s) => s.rps));
  console.log(
    `${label.padEnd(16)} ${name.padEnd(9)} ${rps.toFixed(0).padStart(7)}  ${String(median(list.map((s) => s.p50))).padStart(6)}  ${String(median(list.map((s) => s.p99))).padStart(6)}  ${(rps / base).toFixed(2)}`,
  );
};
for (const route of ROUTES) {
  const base = median(samples[`baseline ${route}`].map((s) => s.rps));
  for (const name of ["baseline", "stratus"]) row(route, name, samples[`${name} ${route}`], base);
}
console.log("\nidentity (ratio to Stratus's own GET /health, same rounds)");
const health = median(samples["me /health"].map((s) => s.rps));
row("/health", "stratus", samples["me /health"], health);
row("/v1/me", "stratus", samples["me /v1/me"], health);
console.log(
  "\nrate limits: GET /v1/me limited (user), limited with an org-wide cap (2 calls), admin (exempt: 0 calls)",
);
const off = median(samples["limits off"].map((s) => s.rps));
row("limits off", "stratus", samples["limits off"], off);
row("limits on", "stratus", samples["limits on"], off);
row("limits org", "stratus", samples["limits org"], off);
for (const [name, times] of Object.entries(decisionTimes)) {
  console.log(
    `limiter decision (${name}), ${times.length} requests: p50 ${percentile(times, 50).toFixed(1)} ms, p99 ${percentile(times, 99).toFixed(1)} ms (target p99 < 5 ms)`,
  );
}
console.log(
  `\nstripe webhook (verify + store + enqueue), ${webhookLatencies.length} events from 4 clients: p50 ${percentile(webhookLatencies, 50).toFixed(1)} ms, p99 ${percentile(webhookLatencies, 99).toFixed(1)} ms (target p99 < 50 ms)`,
);
console.log(
  "\naccount wallet: hold + settle round trip on one account's wallet (ratio to a no-op route of the same worker)",
);
const noop = median(samples["ledger noop"].map((s) => s.rps));
row("noop", "wallet", samples["ledger noop"], noop);
row("hold+settle", "wallet", samples["ledger roundtrip"], noop);
console.log(
  `\nAI gateway: streamed chat completion (20 content chunks), one client, ${aiStreams.stratus.length} each: ms at p50 / p99` +
    "\nstraight to the simulator (direct), through a bare pass-through Worker on workerd (bench/baseline.ts), through a bare" +
    "\nJavaScript relay (a read to a write: the least a relay that reads the stream costs here), through Stratus;" +
    "\nrelay = the body's first read to its last; added = Stratus − direct, and Stratus − pass-through (what Stratus itself adds)",
);
const streamPick = (name, key, p) =>
  percentile(
    aiStreams[name].map((sample) => sample[key]),
    p,
  );
for (const [label, key] of [
  ["first event", "first"],
  ["relay", "relay"],
  ["total", "total"],
]) {
  const at = (name) => [50, 99].map((p) => streamPick(name, key, p).toFixed(1)).join(" / ");
  const added = (base) =>
    [50, 99].map((p) => (streamPick("stratus", key, p) - streamPick(base, key, p)).toFixed(1)).join(" / ");
  console.log(
    `${label.padEnd(12)} direct ${at("direct")}, pass-through ${at("passthrough")}, JS relay ${at("jsRelay")}, Stratus ${at("stratus")}; added ${added("direct")} over direct, ${added("passthrough")} over the pass-through`,
  );
}
console.log("non-streamed chat completion, requests/s (ratio to direct)");
const direct = median(samples["ai direct"].map((s) => s.rps));
row("chat direct", "simulator", samples["ai direct"], direct);
row("chat stratus", "stratus", samples["ai stratus"], direct);
console.log("non-streamed chat completion vs authenticated GET /v1/me, same rounds (ratio to /v1/me)");
const me = median(samples["ai me"].map((s) => s.rps));
row("/v1/me", "stratus", samples["ai me"], me);
row("chat stratus", "stratus", samples["ai stratus"], me);

console.log(
  `\nCPU ms per request: the server's workerd process, utime + stime (/proc) over the load plus ${drainMs / 1000} s of drain, ÷ requests completed; median of rounds.` +
    "\nOne workerd thread per server here, so throughput ≈ 1000 ÷ CPU ms." +
    `\nIdle workerd CPU (no load, ${IDLE_MS / 1000} s before the section; in the windows, not subtracted): stratus ${idle.stratus.toFixed(0)} ms/s, wallet ${idle.wallet.toFixed(0)} ms/s.`,
);
console.log(
  "route            server   CPU ms/req  of it drain  ≈ req/s  measured req/s  window s  requests  CPU ms in last 1 s",
);
for (const [label, name, key] of [
  ["chat stratus", "stratus", "ai stratus"],
  ["chat streamed", "stratus", "ai stream"],
  ["hold+settle", "wallet", "ledger roundtrip"],
  ["/v1/me", "stratus", "ai me"],
]) {
  const of = (pick) => median(samples[key].map(pick));
  const cpu = of((s) => s.cpu.msPerRequest);
  const cells = [
    [cpu.toFixed(2), 10],
    [of((s) => s.cpu.drainMsPerRequest).toFixed(2), 11],
    [(1000 / cpu).toFixed(0), 7],
    [of((s) => s.rps).toFixed(0), 14],
    [of((s) => s.cpu.windowMs / 1000).toFixed(1), 8],
    [of((s) => s.requests).toFixed(0), 8],
    [of((s) => s.cpu.tailMs).toFixed(0), 18],
  ];
  console.log(`${label.padEnd(16)} ${name.padEnd(8)} ${cells.map(([text, width]) => text.padStart(width)).join("  ")}`);
}

printPortkey(portkey);
const streamAdded = (key, p, base = "direct") => streamPick("stratus", key, p) - streamPick(base, key, p);
const chatCpu = median(samples["ai stratus"].map((s) => s.cpu.msPerRequest));
if (portkey) {
  const theirs = summarizePortkey(portkey);
  const added = (key, p) => theirs.streamed.portkey[key][`p${p}`] - theirs.streamed.direct[key][`p${p}`];
  console.log("\nside by side, same simulator (Stratus: workerd with local D1, DO and queue emulation; Portkey: Node)");
  console.log(
    `non-streamed chat CPU ms/request: Stratus ${chatCpu.toFixed(2)}, Portkey ${theirs.cpuMsPerRequest.toFixed(2)}`,
  );
  for (const [label, key] of [
    ["first event added", "first"],
    ["relay", "relay"],
    ["total added", "total"],
  ]) {
    const ours = (p) => (key === "relay" ? streamPick("stratus", "relay", p) : streamAdded(key, p));
    const portkeys = (p) => (key === "relay" ? theirs.streamed.portkey.relay[`p${p}`] : added(key, p));
    console.log(
      `${label.padEnd(18)} p50 Stratus ${ours(50).toFixed(1)} ms, Portkey ${portkeys(50).toFixed(1)} ms; p99 Stratus ${ours(99).toFixed(1)} ms, Portkey ${portkeys(99).toFixed(1)} ms`,
    );
  }
}

// The hot path's targets (issue #16), from this run.
const meRatio = median(samples["me /v1/me"].map((s) => s.rps)) / health;
const uncachedAdded = percentile(translation.uncached, 50) - 50;
const limiterP99 = Math.max(
  ...Object.entries(decisionTimes)
    .filter(([name]) => name.includes("4 clients"))
    .map(([, times]) => percentile(times, 99)),
);
const relayP50 = streamPick("stratus", "relay", 50);
const webhookP99 = percentile(webhookLatencies, 99);
console.log("\nhot path targets");
for (const [label, value, target, met] of [
  ["non-streamed chat, workerd CPU ms per request", chatCpu, "≤ 2.5", chatCpu <= 2.5],
  ["relay after the first event, p50 ms", relayP50, "≤ 1", relayP50 <= 1],
  ["first event added over direct, p50 ms", streamAdded("first", 50), "≤ 3", streamAdded("first", 50) <= 3],
  ["first event added over direct, p99 ms", streamAdded("first", 99), "≤ 10", streamAdded("first", 99) <= 10],
  ["whole stream added over direct, p99 ms", streamAdded("total", 99), "≤ 12", streamAdded("total", 99) <= 12],
  ["stripe webhook, p99 ms", webhookP99, "< 50", webhookP99 < 50],
  ["limiter decision, 4 clients, p99 ms", limiterP99, "≤ 5", limiterP99 <= 5],
  ["GET /v1/me as a share of GET /health", meRatio, "≥ 0.6", meRatio >= 0.6],
  ["uncached translation batch over the provider, p50 ms", uncachedAdded, "≤ 50", uncachedAdded <= 50],
]) {
  console.log(`${met ? "met   " : "missed"}  ${label.padEnd(54)} ${value.toFixed(2).padStart(7)}  (target ${target})`);
}
console.log(
  `(the bare JavaScript relay on this workerd: relay ${streamPick("jsRelay", "relay", 50).toFixed(2)} ms p50; Stratus over the pass-through: relay ${(relayP50 - streamPick("passthrough", "relay", 50)).toFixed(2)} ms p50, first event ${streamAdded("first", 50, "passthrough").toFixed(2)} / ${streamAdded("first", 99, "passthrough").toFixed(2)} ms p50 / p99, whole stream ${streamAdded("total", 99, "passthrough").toFixed(2)} ms p99)`,
);

console.log("\nwallet migration and copy");
const { migrated, legacyWrite, copy } = walletCheck;
console.log(
  `stratus bench user: legacy D1 credits moved into its wallet at first touch (${migrated.map((r) => `migrated ${r.amount} ${r.bucket}`).join(", ") || "no migrated row"}); legacy write ${legacyWrite}`,
);
console.log(`  ${describeWait(copy)}`);
console.log(`wallet bench account (hold+settle): ${describeWait(ledgerCopy)}`);
console.log(
  `\ntranslation, 128 segments, one client, ${translation.cached.length} each (simulator latency 50 ms; target cached p50 < 10 ms)`,
);
for (const [label, times] of Object.entries(translation)) {
  console.log(
    `${label.padEnd(9)} p50 ${percentile(times, 50).toFixed(1)} ms, p99 ${percentile(times, 99).toFixed(1)} ms`,
  );
}
console.log(
  `\nsingle-shot upload through POST /v1/files vs a bare R2 put of the same bytes (bench/baseline.ts), one client, ${UPLOADS} uploads per round; MiB/s, median of rounds (target ratio ≥ 0.7)`,
);
for (const [label, sides] of Object.entries(uploads)) {
  const ratio = median(sides.stratus) / median(sides.bare);
  console.log(
    `${label.padEnd(7)} Stratus ${median(sides.stratus).toFixed(1)}, bare put ${median(sides.bare).toFixed(1)}: ratio ${ratio.toFixed(2)} ${ratio >= 0.7 ? "met" : "missed"}`,
  );
}
console.log(
  `\nlogin, one client, ${LOGINS} sequential: p50 ${percentile(loginLatencies, 50).toFixed(1)} ms, p95 ${percentile(loginLatencies, 95).toFixed(1)} ms (target p95 < 150 ms)`,
);
const bundle = readFileSync(join(out, "stratus", "index.js"));
console.log(
  `\nbundle: ${(bundle.length / 1024).toFixed(1)} KiB minified, ${(gzipSync(bundle, { level: 9 }).length / 1024).toFixed(1)} KiB gzip`,
);
