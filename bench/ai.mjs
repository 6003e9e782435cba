// The AI gateway part of `npm run bench`: a streamed chat completion through Stratus versus
// straight to the OpenAI simulator, one client, alternating sides by round so machine noise hits
// both alike: the time to the first SSE event and to the end of the stream.

export const chatBody = (stream) =>
  JSON.stringify({
    model: "gpt-4o-mini",
    max_tokens: 64,
    stream,
    messages: [{ role: "user", content: "Tell me about the edge." }],
  });

/** One streamed completion: ms to the first SSE event and to the end. */
async function streamed(target) {
  const started = performance.now();
  const response = await fetch(target.url, {
    method: "POST",
    headers: { "content-type": "application/json", ...target.headers },
    body: chatBody(true),
  });
  if (response.status !== 200) throw new Error(`chat stream failed: ${response.status} ${await response.text()}`);
  let first;
  for await (const _chunk of response.body) first ??= performance.now() - started;
  return { first, total: performance.now() - started };
}

/**
 * @param {{ direct: { url: string, headers: object }, stratus: { url: string, headers: object } }} targets
 * @returns {Promise<{ direct: { first: number, total: number }[], stratus: { first: number, total: number }[] }>}
 */
export async function streamLatencies(targets, { rounds, streams }) {
  for (const target of Object.values(targets)) for (let i = 0; i < 20; i++) await streamed(target);
  const samples = { direct: [], stratus: [] };
  for (let round = 0; round < rounds; round++) {
    for (const name of round % 2 === 0 ? ["direct", "stratus"] : ["stratus", "direct"]) {
      for (let i = 0; i < streams; i++) samples[name].push(await streamed(targets[name]));
    }
  }
  return samples;
}
