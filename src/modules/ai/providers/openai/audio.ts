import { z } from "zod";
import { checkAnswer } from "../../../../platform/upstreams/answers";
import { UpstreamError } from "../../../../platform/upstreams/error";
import type { SPEECH_FORMATS, SpeechProvider, TranscriptionProvider } from "../types";
import { clientOf, type OpenAiSettings, providerErrorOf } from "./client";

/** Whisper transcriptions (asked for as `verbose_json`: timings and duration) and TTS speech. */

/** Longer than any file the endpoint accepts (25 MB) can play. */
const MAX_SECONDS = 24 * 60 * 60;
const Seconds = z.number().finite().min(0).max(MAX_SECONDS);

/** What is used of a `verbose_json` transcript; the duration is checked apart (it is what is billed). */
const TranscriptSchema = z.object({
  text: z.string().max(10_000_000),
  language: z.string().max(64).nullish(),
  duration: z.unknown().optional(),
  segments: z
    .array(z.object({ start: Seconds, end: Seconds, text: z.string().max(1_000_000) }))
    .max(1_000_000)
    .nullish(),
});

/** Speech is sent on with the content type of the format asked, never the one the upstream names. */
const SPEECH_CONTENT_TYPES: Record<(typeof SPEECH_FORMATS)[number], string> = {
  mp3: "audio/mpeg",
  opus: "audio/opus",
  aac: "audio/aac",
  flac: "audio/flac",
  wav: "audio/wav",
  pcm: "audio/pcm",
};

export function openAiTranscription(settings: OpenAiSettings): TranscriptionProvider {
  const client = clientOf(settings);
  const label = settings.label ?? "openai";
  return {
    async transcribe(request, signal) {
      let answer: unknown;
      try {
        answer = await client.audio.transcriptions.create(
          {
            model: request.model,
            file: request.file,
            response_format: "verbose_json",
            timestamp_granularities: ["segment"],
            ...(request.language ? { language: request.language } : {}),
            ...(request.prompt ? { prompt: request.prompt } : {}),
            ...(request.temperature !== undefined ? { temperature: request.temperature } : {}),
          },
          { signal },
        );
      } catch (error) {
        throw providerErrorOf(error, signal, settings);
      }
      const checked = checkAnswer(TranscriptSchema, answer);
      if (!checked.ok) throw UpstreamError.invalidAnswer(label, checked.problem);
      const transcript = checked.value;
      const duration = Seconds.safeParse(transcript.duration);
      return {
        text: transcript.text,
        language: transcript.language ?? request.language ?? "unknown",
        durationSeconds: duration.success ? duration.data : null,
        segments: transcript.segments?.map(({ start, end, text }) => ({ start, end, text })) ?? [],
      };
    },
  };
}

export function openAiSpeech(settings: OpenAiSettings): SpeechProvider {
  const client = clientOf(settings);
  return {
    async speak(request, signal) {
      try {
        const response = await client.audio.speech.create(
          {
            model: request.model,
            input: request.input,
            voice: request.voice,
            response_format: request.format,
            ...(request.speed !== undefined ? { speed: request.speed } : {}),
          },
          { signal },
        );
        // An upstream that answers a page or JSON where audio belongs is not sent on as audio.
        const upstreamType = response.headers.get("content-type") ?? "";
        if (!response.body || !/^(audio\/|application\/octet-stream)/i.test(upstreamType)) {
          throw UpstreamError.invalidAnswer(settings.label ?? "openai", `no audio (${upstreamType.slice(0, 40)})`);
        }
        return { audio: response.body, contentType: SPEECH_CONTENT_TYPES[request.format] };
      } catch (error) {
        throw providerErrorOf(error, signal, settings);
      }
    },
  };
}
