import OpenAI from "openai";
import { describe, expect, it } from "vitest";
import { eventually, fund, openaiFor, usageRowsOf } from "../../helpers/ai";
import { api } from "../../helpers/client";
import { as, registerUser } from "../../helpers/identity";

async function fundedClient() {
  const user = await registerUser();
  await fund(user.user.id, 10_000_000);
  return { user, client: openaiFor(user.tokens.accessToken) };
}

/** The simulator's audio: 16 000 bytes a second. */
const audio = (seconds: number) => new File([new Uint8Array(seconds * 16_000)], "talk.mp3", { type: "audio/mpeg" });
/** whisper-1: US$0.006 a minute = 6 000 millicredits. */
const whisperCharge = (seconds: number) => Math.ceil((6_000 * seconds) / 60 - 1e-9);

describe("POST /v1/audio/transcriptions", () => {
  it("transcribes through the official client and charges the reported duration", async () => {
    const { user, client } = await fundedClient();
    const { data, response } = await client.audio.transcriptions
      .create({ file: audio(12), model: "whisper-1", response_format: "verbose_json", language: "en" })
      .withResponse();
    expect(data.text.length).toBeGreaterThan(0);
    expect(data.duration).toBe(12);
    expect(data.segments?.[0]).toMatchObject({ start: 0, end: 5 });
    expect(response.headers.get("x-stratus-cost-millicredits")).toBe(String(whisperCharge(12)));
    const [row] = await eventually(
      () => usageRowsOf(user.user.id),
      (rows) => rows.length === 1,
    );
    expect(row).toMatchObject({ model: "whisper-1", charged: whisperCharge(12), status: "completed" });
  });

  it("renders text, srt and vtt from the timed transcript", async () => {
    const { client } = await fundedClient();
    const text = await client.audio.transcriptions.create({
      file: audio(6),
      model: "whisper-1",
      response_format: "text",
    });
    expect(typeof text).toBe("string");
    const srt = (await client.audio.transcriptions.create({
      file: audio(6),
      model: "whisper-1",
      response_format: "srt",
    })) as unknown as string;
    expect(srt).toMatch(/^1\n00:00:00,000 --> 00:00:05,000\n.+\n\n2\n00:00:05,000 --> 00:00:06,000\n/);
    const vtt = (await client.audio.transcriptions.create({
      file: audio(6),
      model: "whisper-1",
      response_format: "vtt",
    })) as unknown as string;
    expect(vtt).toMatch(/^WEBVTT\n\n00:00:00\.000 --> 00:00:05\.000\n/);
  });

  it("refuses files over 25 MB (400; 413 past the body limit), other media types (415) and chat models (400), in OpenAI's shape", async () => {
    const { user, client } = await fundedClient();
    const justOver = new File([new Uint8Array(25 * 1024 * 1024 + 1)], "long.mp3");
    await expect(client.audio.transcriptions.create({ file: justOver, model: "whisper-1" })).rejects.toMatchObject({
      status: 400,
      message: expect.stringContaining("25 MB"),
    });
    const farOver = new File([new Uint8Array(26 * 1024 * 1024)], "longer.mp3");
    await expect(client.audio.transcriptions.create({ file: farOver, model: "whisper-1" })).rejects.toMatchObject({
      status: 413,
    });
    const json = await api("/v1/audio/transcriptions", { json: { model: "whisper-1" }, headers: as(user) });
    expect(json.status).toBe(415);
    expect(json.body).toMatchObject({ error: { code: "unsupported_media_type" } });
    await expect(client.audio.transcriptions.create({ file: audio(1), model: "gpt-4o-mini" })).rejects.toBeInstanceOf(
      OpenAI.BadRequestError,
    );
  });
});

describe("POST /v1/audio/speech", () => {
  it("streams audio and charges by the character", async () => {
    const { user, client } = await fundedClient();
    const { data, response } = await client.audio.speech
      .create({ model: "tts-1", input: "Hello, edge.", voice: "alloy", response_format: "wav" })
      .withResponse();
    const bytes = new Uint8Array(await data.arrayBuffer());
    expect(String.fromCharCode(...bytes.slice(0, 4))).toBe("RIFF");
    expect(response.headers.get("content-type")).toContain("audio/wav");
    expect(response.headers.get("x-stratus-cost-millicredits")).toBe(String(12 * 15));
    const [row] = await eventually(
      () => usageRowsOf(user.user.id),
      (rows) => rows.length === 1,
    );
    expect(row).toMatchObject({ model: "tts-1", charged: 180 });
  });
});
