import { Hono } from "hono";

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
app.post("/v1/chat/completions", async (c) => {
  const { OPENAI_BASE_URL, OPENAI_API_KEY } = c.env as unknown as Record<string, string>;
  const upstream = await fetch(`${OPENAI_BASE_URL}/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${OPENAI_API_KEY}` },
    body: c.req.raw.body,
  });
  return new Response(upstream.body, {
    status: upstream.status,
    headers: { "content-type": upstream.headers.get("content-type") ?? "application/json" },
  });
});

export default app;
