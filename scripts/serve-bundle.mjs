// Builds the Worker as it deploys (`wrangler deploy --dry-run`) and serves a bundle on workerd
// through the Miniflare API, with local D1 (migrated), KV, R2 and a queue producer: what
// `npm run bench` measures and the Node-side tests (tests/node) drive. `wrangler dev` would put
// its own proxy in front.

import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { convertV4MiniflareOptions, Miniflare } from "miniflare";
import { commandOf } from "./run.mjs";

export const COMPATIBILITY_DATE = /compatibility_date\s*=\s*"([^"]+)"/.exec(readFileSync("wrangler.toml", "utf8"))[1];
const COMPATIBILITY_FLAGS = JSON.parse(
  /compatibility_flags\s*=\s*(\[[^\]]*\])/.exec(readFileSync("wrangler.toml", "utf8"))?.[1] ?? "[]",
);

/**
 * The deployable bundle of the API Worker in `outdir` (minified as deployed, unless a profile
 * wants names: its source map is beside it); its entry's path. wrangler's output is shown only
 * when it fails.
 */
export function buildWorker(outdir, { minify = true } = {}) {
  const args = ["deploy", "--dry-run", ...(minify ? ["--minify"] : []), "--outdir", outdir];
  const built = spawnSync(...commandOf("wrangler", args), {
    stdio: ["ignore", "pipe", "pipe"],
    encoding: "utf8",
    env: { ...process.env, WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false" },
  });
  if (built.status !== 0) {
    throw new Error(
      `wrangler ${args.join(" ")} failed (${built.error?.message ?? `exit ${built.status}`}):\n${built.stdout}${built.stderr}`,
    );
  }
  return join(outdir, "index.js");
}

/** What the API Worker's bundle needs beyond storage: its Durable Objects and its wallet copy queue (wrangler.toml). */
export const STRATUS_OPTIONS = {
  durableObjects: {
    RATE_LIMITER: { className: "RateLimiter", useSQLite: true },
    ACCOUNT_WALLET: { className: "AccountWallet", useSQLite: true },
  },
  queueProducers: { JOBS: "stratus-jobs", WALLET_COPY: "stratus-wallet-copy" },
  queueConsumers: { "stratus-wallet-copy": { maxBatchSize: 100, maxBatchTimeout: 1 } },
};

/**
 * Serves the bundle at `scriptPath` (and the text modules beside it) on 127.0.0.1, on a free
 * port; `extra` adds or overrides Miniflare options (bindings, Durable Objects, assets).
 * @param {string} scriptPath
 * @param {{ bindings?: Record<string, unknown>, [option: string]: unknown }} [options]
 */
export async function serveBundle(scriptPath, { bindings = {}, ...extra } = {}) {
  const mf = new Miniflare(
    convertV4MiniflareOptions({
      modulesRoot: dirname(scriptPath),
      modules: [
        { type: "ESModule", path: scriptPath },
        ...readdirSync(dirname(scriptPath))
          .filter((name) => name.endsWith(".txt"))
          .map((name) => ({ type: "Text", path: join(dirname(scriptPath), name) })),
      ],
      compatibilityDate: COMPATIBILITY_DATE,
      compatibilityFlags: COMPATIBILITY_FLAGS,
      d1Databases: ["DB"],
      kvNamespaces: ["CACHE"],
      r2Buckets: ["FILES"],
      queueProducers: { JOBS: "stratus-jobs" },
      bindings,
      host: "127.0.0.1",
      port: 0,
      ...extra,
    }),
  );
  const url = await mf.ready;
  const db = await mf.getD1Database("DB");
  for (const file of readdirSync("migrations")
    .filter((name) => name.endsWith(".sql"))
    .sort()) {
    for (const statement of readFileSync(join("migrations", file), "utf8").split("--> statement-breakpoint")) {
      if (statement.trim()) await db.prepare(statement).run();
    }
  }
  return { mf, url: url.toString().replace(/\/$/, "") };
}
