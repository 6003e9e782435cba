import type { SpeechProvider, TranscriptionProvider } from "../types";
import { clientOf, type OpenAiSettings, providerErrorOf } from "./client";

/** Whisper transcriptions (asked for as `verbose_json`: timings and duration) and TTS speech. */

type VerboseTranscript = {
  text: string;
  language?: string;
  duration?: number;
  segments?: { start: number; end: number; text: string }[];
};

export function openAiTranscription(settings: OpenAiSettings): TranscriptionProvider {
  const client = clientOf(settings);
  return {
    async transcribe(request, signal) {
      try {
        const answer = (await client.audio.transcriptions.create(
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
        )) as unknown as VerboseTranscript;
        return {
          text: answer.text,
          language: answer.language ?? request.language ?? "unknown",
          durationSeconds: answer.duration ?? answer.segments?.at(-1)?.end ?? 0,
          segments: answer.segments?.map(({ start, end, text }) => ({ start, end, text })) ?? [],
        };
      } catch (error) {
        throw providerErrorOf(error, signal, settings.label ?? "openai");
      }
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
        if (!response.body) throw new Error("speech answered no audio");
        return {
          audio: response.body,
          contentType: response.headers.get("content-type") ?? "application/octet-stream",
        };
      } catch (error) {
        throw providerErrorOf(error, signal, settings.label ?? "openai");
      }
    },
  };
}
