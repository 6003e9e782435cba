import type { z } from "@hono/zod-openapi";
import type { Transcript } from "../providers/types";
import type { TRANSCRIPT_FORMATS, TranscriptionSchema } from "./schema";

/** A transcript in each of OpenAI's response formats, all from the same timed transcript. */

const pad = (value: number, width = 2) => String(value).padStart(width, "0");

function timestamp(seconds: number, separator: "," | "."): string {
  const ms = Math.round(seconds * 1000);
  const hours = Math.floor(ms / 3_600_000);
  const minutes = Math.floor((ms % 3_600_000) / 60_000);
  const secs = Math.floor((ms % 60_000) / 1000);
  return `${pad(hours)}:${pad(minutes)}:${pad(secs)}${separator}${pad(ms % 1000, 3)}`;
}

export function renderTranscript(
  transcript: Transcript,
  format: (typeof TRANSCRIPT_FORMATS)[number],
): { json: z.infer<typeof TranscriptionSchema> } | { text: string; contentType: string } {
  const cues = (separator: "," | ".") =>
    transcript.segments.map(
      (segment) =>
        `${timestamp(segment.start, separator)} --> ${timestamp(segment.end, separator)}\n${segment.text.trim()}`,
    );
  switch (format) {
    case "json":
      return { json: { text: transcript.text } };
    case "verbose_json":
      return {
        json: {
          task: "transcribe",
          language: transcript.language,
          duration: transcript.durationSeconds ?? undefined,
          text: transcript.text,
          segments: transcript.segments.map((segment, id) => ({ id, ...segment })),
        },
      };
    case "text":
      return { text: `${transcript.text}\n`, contentType: "text/plain; charset=utf-8" };
    case "srt":
      return {
        text: `${cues(",")
          .map((cue, index) => `${index + 1}\n${cue}`)
          .join("\n\n")}\n`,
        contentType: "application/x-subrip; charset=utf-8",
      };
    case "vtt":
      return { text: `WEBVTT\n\n${cues(".").join("\n\n")}\n`, contentType: "text/vtt; charset=utf-8" };
  }
}
