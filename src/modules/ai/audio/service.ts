import { configOf } from "../../../env";
import { type AiCaller, pricedCall } from "../metering";
import { audioCostOf, speechCostOf } from "../pricing";
import { speechProviderOf, transcriptionProviderOf } from "../providers";
import { deploymentsOf } from "../registry";
import type { SpeechBody, TranscriptionForm } from "./schema";
import { renderTranscript } from "./transcript";

/**
 * Audio: transcription is held for the longest the file can play at 32 kbit/s (compressed
 * speech at lower bitrates plays longer: the ledger records what the hold does not cover) and
 * charged for the duration the provider reports; speech costs exactly its characters.
 */

const LOWEST_BYTES_PER_SECOND = 4_000;

export async function transcribe(caller: AiCaller, form: TranscriptionForm, clientSignal: AbortSignal) {
  const config = configOf(caller.env);
  const request = {
    file: form.file,
    ...(form.language ? { language: form.language } : {}),
    ...(form.prompt ? { prompt: form.prompt } : {}),
    ...(form.temperature !== undefined ? { temperature: form.temperature } : {}),
  };
  const { result: transcript, charged } = await pricedCall(
    caller,
    {
      endpoint: "audio.transcriptions",
      requestedModel: form.model,
      deployments: deploymentsOf(config, form.model, ["transcription"]),
      ceiling: (model) => audioCostOf(model.prices, form.file.size / LOWEST_BYTES_PER_SECOND),
      timeoutMs: config.AI_TOTAL_TIMEOUT_MS,
      run: (model, signal) =>
        transcriptionProviderOf(config, model.provider).transcribe({ ...request, model: model.upstream }, signal),
      measure: (model, heard) => ({ cost: audioCostOf(model.prices, heard.durationSeconds) }),
    },
    clientSignal,
  );
  return { charged, ...renderTranscript(transcript, form.response_format) };
}

export async function speak(caller: AiCaller, body: SpeechBody, clientSignal: AbortSignal) {
  const config = configOf(caller.env);
  const request = {
    input: body.input,
    voice: body.voice,
    format: body.response_format,
    ...(body.speed !== undefined ? { speed: body.speed } : {}),
  };
  const { result, charged } = await pricedCall(
    caller,
    {
      endpoint: "audio.speech",
      requestedModel: body.model,
      deployments: deploymentsOf(config, body.model, ["speech"]),
      ceiling: (model) => speechCostOf(model.prices, body.input.length),
      timeoutMs: config.AI_FIRST_TOKEN_TIMEOUT_MS,
      run: (model, signal) =>
        speechProviderOf(config, model.provider).speak({ ...request, model: model.upstream }, signal),
      measure: (model) => ({ cost: speechCostOf(model.prices, body.input.length) }),
    },
    clientSignal,
  );
  return { charged, ...result };
}
