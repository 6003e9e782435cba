import { type Context, Hono } from "hono";

/**
 * The baseline of `npm run bench`: a bare Hono app doing the same binding work as the
 * Stratus routes it is compared with, without Stratus's middleware, validation or docs.
 */
const app = new Hono<{ Bindings: Env }>();

app.get("/health", (c) => c.json({ status: "ok", version: "0.0.0" }));

app.get("/health/ready", async (c) => {
  const [d1, kv, r2, pulse] = await Promise.all([
    c.env.DB.prepare("SELECT 1").first(),
    c.env.CACHE.get("health:probe"),
    c.env.FILES.head("health/probe"),
    c.env.DB.prepare("SELECT max(processed_at) AS at FROM queue_tasks WHERE kind = ? AND status = 'processed'")
      .bind("health.heartbeat")
      .first(),
  ]);
  return c.json({ status: "ready", d1: d1 !== null, kv, r2, pulse });
});

/**
 * A chat completion passed straight through to the OpenAI simulator, body to body: what relaying
 * costs on this workerd with nothing done to it (Miniflare's proxies in front and behind included).
 */
const upstreamChat = (c: Context<{ Bindings: Env }>) => {
  const { OPENAI_BASE_URL, OPENAI_API_KEY } = c.env as unknown as Record<string, string>;
  return fetch(`${OPENAI_BASE_URL}/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${OPENAI_API_KEY}` },
    body: c.req.raw.body,
  });
};

/**
 * A chat completion passed straight through to the OpenAI simulator, body to body: what relaying
 * costs on this workerd with nothing done to it (Miniflare's proxies in front and behind included).
 */
app.post("/v1/chat/completions", async (c) => {
  const upstream = await upstreamChat(c);
  return new Response(upstream.body, {
    status: upstream.status,
    headers: { "content-type": upstream.headers.get("content-type") ?? "application/json" },
  });
});

/**
 * The same relayed by JavaScript, a read of the upstream's body to a write of the answer's and
 * nothing else: the least any relay that looks at the bytes costs here. workerd pumps the
 * pass-through natively, in large reads; JavaScript gets a read per chunk the upstream wrote.
 */
app.post("/js/v1/chat/completions", async (c) => {
  const upstream = await upstreamChat(c);
  const reader = (upstream.body as ReadableStream<Uint8Array>).getReader();
  const relayed = new ReadableStream<Uint8Array>({
    async pull(controller) {
      const read = await reader.read();
      if (read.done) controller.close();
      else controller.enqueue(read.value);
    },
    cancel: (reason) => reader.cancel(reason),
  });
  return new Response(relayed, { status: upstream.status, headers: { "content-type": "text/event-stream" } });
});

/** The same bytes as an upload to Stratus, put into R2 as they come and nothing else. */
app.put("/r2/:key", async (c) => {
  await c.env.FILES.put(`bench/${c.req.param("key")}`, c.req.raw.body);
  return c.body(null, 201);
});

export default app;
