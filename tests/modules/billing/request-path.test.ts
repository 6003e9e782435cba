import { describe, expect, it } from "vitest";
import { fund } from "../../helpers/ai";
import { type ApiResponse, api } from "../../helpers/client";
import { as, registerUser } from "../../helpers/identity";
import { createOrg } from "../../helpers/orgs";

/**
 * The budget of the hot routes (issue #15): once the per-isolate caches are warm, a chat
 * completion, an embedding and a translation (cached or not, with or without an
 * `Idempotency-Key`) make no D1 statement and at most two sequential Durable Object round trips
 * (the limiter, the wallet) before their upstream call, as `Server-Timing` reports them.
 */

function ioOf(response: ApiResponse) {
  const timing = response.headers.get("server-timing") ?? "";
  const count = (name: string) => Number(new RegExp(`${name};desc="(\\d+)"`).exec(timing)?.[1] ?? Number.NaN);
  return { d1: count("d1"), do: count("do") };
}

type Call = { path: string; json: Record<string, unknown> };

const calls: Record<string, (nonce: string) => Call> = {
  "a chat completion": (nonce) => ({
    path: "/v1/chat/completions",
    json: { model: "gpt-4o-mini", messages: [{ role: "user", content: `hello ${nonce}` }], max_tokens: 16 },
  }),
  "a streamed chat completion": (nonce) => ({
    path: "/v1/chat/completions",
    json: { model: "gpt-4o-mini", messages: [{ role: "user", content: `hi ${nonce}` }], max_tokens: 16, stream: true },
  }),
  "an embedding": (nonce) => ({ path: "/v1/embeddings", json: { model: "text-embedding-3-small", input: nonce } }),
  "an uncached translation": (nonce) => ({ path: "/v1/translate", json: { q: [`good day ${nonce}`], target: "fr" } }),
  "a cached translation": () => ({ path: "/v1/translate", json: { q: ["always the same words"], target: "de" } }),
};

describe("the hot routes' request path", () => {
  for (const [name, callOf] of Object.entries(calls)) {
    for (const keyed of [false, true]) {
      it(`${name}${keyed ? " with an Idempotency-Key" : ""}: no D1 statement, at most 2 DO round trips before the upstream`, async () => {
        const user = await registerUser();
        const org = await createOrg(user);
        await fund(user.user.id, 1_000_000);
        await fund(org.id, 1_000_000);
        const accounts: Record<string, string>[] = [{}, { "x-stratus-org": org.id }];
        for (const account of accounts) {
          const send = async (nonce: string) => {
            const { path, json } = callOf(nonce);
            const headers: Record<string, string> = { ...as(user), ...account };
            if (keyed) headers["idempotency-key"] = crypto.randomUUID();
            const response = await api(path, { json, headers });
            expect(response.status, response.text).toBe(200);
            return response;
          };
          await send(crypto.randomUUID());
          const warm = await send(crypto.randomUUID());
          expect(ioOf(warm)).toEqual({ d1: 0, do: expect.any(Number) });
          expect(ioOf(warm).do).toBeLessThanOrEqual(2);
        }
      });
    }
  }

  it("replays a repeated request from the wallet, without D1 or the upstream", async () => {
    const user = await registerUser();
    await fund(user.user.id, 1_000_000);
    const key = crypto.randomUUID();
    const request = {
      json: { model: "text-embedding-3-small", input: "replayed" },
      headers: { ...as(user), "idempotency-key": key },
    };
    const first = await api("/v1/embeddings", request);
    expect(first.status).toBe(200);
    let replayed = await api("/v1/embeddings", request);
    for (let i = 0; i < 50 && replayed.status === 409; i++) {
      // The answer is kept just after it is sent.
      await new Promise((resolve) => setTimeout(resolve, 20));
      replayed = await api("/v1/embeddings", request);
    }
    expect(replayed.status).toBe(200);
    expect(replayed.headers.get("idempotent-replayed")).toBe("true");
    expect(replayed.body).toEqual(first.body);
    expect(ioOf(replayed).d1).toBe(0);
    const reused = await api("/v1/embeddings", { ...request, json: { ...request.json, input: "other" } });
    expect(reused.status).toBe(409);
    expect((reused.body as { error: { code: string } }).error.code).toBe("idempotency_key_reused");
  });
});
