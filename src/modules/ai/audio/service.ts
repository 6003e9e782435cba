import { type AiCaller, pricedCall } from "../metering";
import { audioCostOf, speechCostOf } from "../pricing";
import { speechProviderOf, transcriptionProviderOf } from "../providers";
import type { Transcript } from "../providers/types";
import { deploymentsOf } from "../registry";
import type { SpeechBody, TranscriptionForm } from "./schema";
import { renderTranscript } from "./transcript";

/**
 * Audio: transcription is held for the longest the file can play at 32 kbit/s (compressed
 * speech at lower bitrates plays longer: the ledger records what the hold does not cover) and
 * charged for the duration the provider reports; without a believable one, for the end of its
 * last segment, or else what was held. Speech costs exactly its characters.
 */

const LOWEST_BYTES_PER_SECOND = 4_000;

/** The seconds to bill: the provider's duration, or an estimate when it sent none worth believing. */
function billedSeconds(heard: Transcript, heldSeconds: number): { seconds: number; estimated: boolean } {
  if (heard.durationSeconds !== null) return { seconds: heard.durationSeconds, estimated: false };
  return { seconds: heard.segments.at(-1)?.end ?? heldSeconds, estimated: true };
}

export async function transcribe(caller: AiCaller, form: TranscriptionForm, clientSignal: AbortSignal) {
  const config = caller.config;
  const request = {
    file: form.file,
    ...(form.language ? { language: form.language } : {}),
    ...(form.prompt ? { prompt: form.prompt } : {}),
    ...(form.temperature !== undefined ? { temperature: form.temperature } : {}),
  };
  const heldSeconds = form.file.size / LOWEST_BYTES_PER_SECOND;
  const { result: transcript, charged } = await pricedCall(
    caller,
    {
      endpoint: "audio.transcriptions",
      requestedModel: form.model,
      sentFields: Object.keys(form),
      deployments: deploymentsOf(config, form.model, ["transcription"]),
      ceiling: (model) => audioCostOf(model.prices, heldSeconds),
      timeoutMs: config.AI_TOTAL_TIMEOUT_MS,
      run: (model, signal) =>
        transcriptionProviderOf(config, model.provider).transcribe({ ...request, model: model.upstream }, signal),
      measure: (model, heard) => {
        const { seconds, estimated } = billedSeconds(heard, heldSeconds);
        return { cost: audioCostOf(model.prices, seconds), estimated };
      },
    },
    clientSignal,
  );
  // The duration a client sees is the one billed.
  const { seconds } = billedSeconds(transcript, heldSeconds);
  return { charged, ...renderTranscript({ ...transcript, durationSeconds: seconds }, form.response_format) };
}

export async function speak(caller: AiCaller, body: SpeechBody, clientSignal: AbortSignal) {
  const config = caller.config;
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
      sentFields: Object.keys(body),
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
