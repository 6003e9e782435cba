// The AI gateway part of `npm run bench`: a streamed chat completion through Stratus versus
// straight to the OpenAI simulator, one client, alternating sides by round so machine noise hits
// both alike: the time to the first SSE event, the relay of the rest (from the first read of the
// body to its last: the simulator sends its 20 content chunks at once) and to the end.

export const chatBody = (stream) =>
  JSON.stringify({
    model: "gpt-4o-mini",
    max_tokens: 64,
    stream,
    // The simulator echoes it in 20 content chunks (with the role's and the finish's: 22 events).
    messages: [{ role: "user", content: "Tell me about the edge, and why requests served near users answer sooner." }],
  });

/** One streamed completion: ms to the first SSE event, from it to the last read (`relay`), and to the end. */
export async function streamed(target) {
  const started = performance.now();
  const response = await fetch(target.url, {
    method: "POST",
    headers: { "content-type": "application/json", ...target.headers },
    body: chatBody(true),
  });
  if (response.status !== 200) throw new Error(`chat stream failed: ${response.status} ${await response.text()}`);
  let first;
  let last;
  for await (const _chunk of response.body) {
    last = performance.now() - started;
    first ??= last;
  }
  return { first, relay: last - first, total: performance.now() - started };
}

/**
 * Streamed completions to each target (e.g. straight to the simulator, through a bare
 * pass-through, through Stratus), `streams` per target per round, the targets' order rotating by
 * round so machine noise hits them alike.
 * @param {Record<string, { url: string, headers: object }>} targets
 * @returns {Promise<Record<string, { first: number, relay: number, total: number }[]>>}
 */
export async function streamLatencies(targets, { rounds, streams }) {
  const names = Object.keys(targets);
  for (const target of Object.values(targets)) for (let i = 0; i < 20; i++) await streamed(target);
  const samples = Object.fromEntries(names.map((name) => [name, []]));
  for (let round = 0; round < rounds; round++) {
    for (const [index] of names.entries()) {
      const name = names[(index + round) % names.length];
      for (let i = 0; i < streams; i++) samples[name].push(await streamed(targets[name]));
    }
  }
  return samples;
}
