import OpenAI from "openai";
import { describe, expect, it } from "vitest";
import { eventually, fund, openaiFor, usageRowsOf } from "../../helpers/ai";
import { registerUser } from "../../helpers/identity";

describe("POST /v1/images/generations", () => {
  it("generates images through the official client, charged per image (HD doubles)", async () => {
    const user = await registerUser();
    await fund(user.user.id, 1_000_000);
    const client = openaiFor(user.tokens.accessToken);
    const { data: urls, response } = await client.images
      .generate({ model: "dall-e-3", prompt: "A cloud over the edge", n: 2 })
      .withResponse();
    expect(urls.data).toHaveLength(2);
    expect(urls.data?.[0]?.url).toMatch(/^http/);
    expect(response.headers.get("x-stratus-cost-millicredits")).toBe(String(2 * 40_000));
    const inline = await client.images.generate({
      model: "dall-e-3",
      prompt: "Inline",
      quality: "hd",
      response_format: "b64_json",
    });
    expect(inline.data?.[0]?.b64_json?.length).toBeGreaterThan(0);
    const rows = await eventually(
      () => usageRowsOf(user.user.id),
      (rows) => rows.length === 2,
    );
    expect(rows.map((row) => row.charged)).toEqual([80_000, 80_000]);
  });

  it("is 402 when the images are not affordable, and 400 for a chat model or a bad size", async () => {
    const user = await registerUser();
    await fund(user.user.id, 10_000);
    const client = openaiFor(user.tokens.accessToken);
    await expect(client.images.generate({ model: "dall-e-3", prompt: "Too dear" })).rejects.toMatchObject({
      status: 402,
    });
    await expect(client.images.generate({ model: "gpt-4o-mini", prompt: "x" })).rejects.toBeInstanceOf(
      OpenAI.BadRequestError,
    );
    await expect(
      client.images.generate({ model: "dall-e-3", prompt: "x", size: "512x512" as "1024x1024" }),
    ).rejects.toBeInstanceOf(OpenAI.BadRequestError);
  });
});
