import { configOf } from "../../../env";
import { circuitSettingsOf } from "../circuit";
import { withFallbacks, within } from "../fallbacks";
import { type AiCaller, holdCredits, metered } from "../metering";
import { audioCostOf, chargeOf, speechCostOf } from "../pricing";
import { speechProviderOf, transcriptionProviderOf } from "../providers";
import { deploymentsOf } from "../registry";
import type { SpeechBody, TranscriptionForm } from "./schema";
import { renderTranscript } from "./transcript";

/**
 * Audio: transcription is held for the longest the file can play (at 32 kbit/s, a low bitrate
 * for speech) and charged for the duration the provider reports; speech costs exactly its
 * characters, known before the call.
 */

const LOWEST_BYTES_PER_SECOND = 4_000;

export async function transcribe(caller: AiCaller, form: TranscriptionForm, clientSignal: AbortSignal) {
  const config = configOf(caller.env);
  const deployments = deploymentsOf(config, form.model, ["transcription"]);
  const longest = form.file.size / LOWEST_BYTES_PER_SECOND;
  const held = chargeOf(Math.max(...deployments.map((model) => audioCostOf(model.prices, longest))));
  const hold = held > 0 ? await holdCredits(caller, held) : null;
  const request = {
    file: form.file,
    ...(form.language ? { language: form.language } : {}),
    ...(form.prompt ? { prompt: form.prompt } : {}),
    ...(form.temperature !== undefined ? { temperature: form.temperature } : {}),
  };
  const done = await metered(
    caller,
    hold,
    { endpoint: "audio.transcriptions", requestedModel: form.model },
    () =>
      withFallbacks(
        deployments,
        clientSignal,
        { logger: caller.logger, circuit: circuitSettingsOf(config) },
        async (attempt) => {
          const provider = transcriptionProviderOf(config, attempt.model.provider);
          const transcript = await within(config.AI_TOTAL_TIMEOUT_MS, attempt, (signal) =>
            provider.transcribe({ ...request, model: attempt.model.upstream }, signal),
          );
          return { model: attempt.model, transcript };
        },
      ),
    ({ model, transcript }) => ({ cost: audioCostOf(model.prices, transcript.durationSeconds) }),
  );
  return { charged: done.charged, ...renderTranscript(done.transcript, form.response_format) };
}

export async function speak(caller: AiCaller, body: SpeechBody, clientSignal: AbortSignal) {
  const config = configOf(caller.env);
  const deployments = deploymentsOf(config, body.model, ["speech"]);
  const held = chargeOf(Math.max(...deployments.map((model) => speechCostOf(model.prices, body.input.length))));
  const hold = held > 0 ? await holdCredits(caller, held) : null;
  const request = {
    input: body.input,
    voice: body.voice,
    format: body.response_format,
    ...(body.speed !== undefined ? { speed: body.speed } : {}),
  };
  return metered(
    caller,
    hold,
    { endpoint: "audio.speech", requestedModel: body.model },
    () =>
      withFallbacks(
        deployments,
        clientSignal,
        { logger: caller.logger, circuit: circuitSettingsOf(config) },
        async (attempt) => {
          const provider = speechProviderOf(config, attempt.model.provider);
          const spoken = await within(config.AI_FIRST_TOKEN_TIMEOUT_MS, attempt, (signal) =>
            provider.speak({ ...request, model: attempt.model.upstream }, signal),
          );
          return { model: attempt.model, ...spoken };
        },
      ),
    ({ model }) => ({ cost: speechCostOf(model.prices, body.input.length) }),
  );
}
