// The translation part of `npm run bench`: a 128-segment batch through Stratus, uncached (each
// request new texts, so every segment goes to the simulator, which answers after a fixed 50 ms)
// and fully cached (the same batch again, answered from KV), one client, in the same run. An
// uncached batch leaves 128 KV writes behind its answer (`waitUntil`); locally the KV simulator
// runs them on the server's one thread at about 2 ms of CPU each, so the next uncached request
// waits `UNCACHED_PAUSE_MS` for them: it measures an answer, not the simulator's write backlog.

const SEGMENTS = 128;
const UNCACHED_PAUSE_MS = Number(process.env.BENCH_TRANSLATE_PAUSE_MS ?? 600);

/** A batch of 128 short sentences, distinct per `seed`. */
const batchOf = (seed) =>
  Array.from({ length: SEGMENTS }, (_, index) => `Sentence ${index} of batch ${seed}: the edge is close to users.`);

/**
 * @param {{ url: string, headers: Record<string, string>, requests: number }} options
 * @returns {Promise<{ cached: number[], uncached: number[] }>} latencies in ms
 */
export async function benchTranslation({ url, headers, requests }) {
  const translate = async (q) => {
    const started = performance.now();
    const response = await fetch(`${url}/v1/translate`, {
      method: "POST",
      headers: { "content-type": "application/json", ...headers },
      body: JSON.stringify({ q, target: "de", source: "en" }),
    });
    const body = await response.json();
    if (response.status !== 200) throw new Error(`translate failed: ${response.status} ${JSON.stringify(body)}`);
    return { ms: performance.now() - started, cached: body.translations.every((item) => item.cached) };
  };
  const uncached = [];
  const cached = [];
  const warm = batchOf("cached");
  // The cache is written after the answer: wait until the whole batch is served from it.
  for (let attempt = 0; !(await translate(warm)).cached; attempt++) {
    if (attempt > 50) throw new Error("the batch never came from the cache");
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  for (let i = 0; i < requests; i++) {
    uncached.push((await translate(batchOf(`fresh-${i}-${Math.random()}`))).ms);
    await new Promise((resolve) => setTimeout(resolve, UNCACHED_PAUSE_MS));
  }
  // Each uncached batch leaves 128 cache writes running after its answer: let them finish.
  await new Promise((resolve) => setTimeout(resolve, 2_000));
  for (let i = 0; i < 10; i++) await translate(warm);
  for (let i = 0; i < requests; i++) {
    const again = await translate(warm);
    if (!again.cached) throw new Error("a cached batch missed the cache");
    cached.push(again.ms);
  }
  return { cached, uncached };
}
