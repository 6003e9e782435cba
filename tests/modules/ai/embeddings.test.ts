import OpenAI from "openai";
import { describe, expect, it } from "vitest";
import { eventually, fund, openaiFor, purchasedBalance, scenario, usageRowsOf } from "../../helpers/ai";
import { api } from "../../helpers/client";
import { as, registerUser } from "../../helpers/identity";

async function fundedClient() {
  const user = await registerUser();
  await fund(user.user.id, 1_000_000);
  return { user, client: openaiFor(user.tokens.accessToken) };
}

describe("POST /v1/embeddings", () => {
  it("embeds through the official client (which asks for base64) and charges the provider's count", async () => {
    const { user, client } = await fundedClient();
    const { data: answer, response } = await client.embeddings
      .create({ model: "text-embedding-3-small", input: ["first text", "second text"], dimensions: 16 })
      .withResponse();
    expect(answer.data.map((item) => item.index)).toEqual([0, 1]);
    expect(answer.data[0]?.embedding).toHaveLength(16);
    expect(answer.data[0]?.embedding.every((value) => Number.isFinite(value))).toBe(true);
    const usage = answer.usage as OpenAI.Embeddings.CreateEmbeddingResponse.Usage & { cost_millicredits: number };
    const charged = Math.ceil(usage.prompt_tokens * 0.02 - 1e-9);
    expect(usage.cost_millicredits).toBe(charged);
    expect(response.headers.get("x-stratus-cost-millicredits")).toBe(String(charged));
    const [row] = await eventually(
      () => usageRowsOf(user.user.id),
      (rows) => rows.length === 1,
    );
    expect(row).toMatchObject({ model: "text-embedding-3-small", status: "completed", charged });
    expect(await purchasedBalance(user.user.id)).toBe(1_000_000 - charged);
  });

  it("answers floats when asked, and refuses chat models, unknown models and empty input", async () => {
    const { user, client } = await fundedClient();
    const floats = await api<{ data: { embedding: number[] }[] }>("/v1/embeddings", {
      json: { model: "text-embedding-3-small", input: "plain", encoding_format: "float" },
      headers: as(user),
    });
    expect(Array.isArray(floats.body.data[0]?.embedding)).toBe(true);
    await expect(client.embeddings.create({ model: "gpt-4o-mini", input: "x" })).rejects.toBeInstanceOf(
      OpenAI.BadRequestError,
    );
    await expect(client.embeddings.create({ model: "nope", input: "x" })).rejects.toBeInstanceOf(OpenAI.NotFoundError);
    await expect(client.embeddings.create({ model: "text-embedding-3-small", input: "" })).rejects.toBeInstanceOf(
      OpenAI.BadRequestError,
    );
  });

  it("retries a failing provider and is 402 without credits", async () => {
    const { client } = await fundedClient();
    const flaky = await scenario("openai", [{ status: 502 }, {}]);
    const answer = await client.embeddings.create({ model: "text-embedding-3-small", input: `again ${flaky.marker}` });
    expect(answer.data).toHaveLength(1);
    expect(await flaky.requests()).toHaveLength(2);
    const broke = await registerUser();
    const poor = await api("/v1/embeddings", {
      json: { model: "text-embedding-3-small", input: "x".repeat(1_000) },
      headers: as(broke),
    });
    expect(poor.status).toBe(402);
    expect(poor.headers.get("x-should-retry")).toBe("false");
  });

  it("replays an answer for a repeated Idempotency-Key, charging once", async () => {
    const { user } = await fundedClient();
    const send = () =>
      api<{ usage: { cost_millicredits: number } }>("/v1/embeddings", {
        json: { model: "text-embedding-3-small", input: "once only" },
        headers: { ...as(user), "idempotency-key": "embed-once-0001" },
      });
    const first = await send();
    const again = await send();
    expect(again.status).toBe(200);
    expect(again.body).toEqual(first.body);
    const rows = await eventually(
      () => usageRowsOf(user.user.id),
      (rows) => rows.length >= 1,
    );
    expect(rows).toHaveLength(1);
  });
});
