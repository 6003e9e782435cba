import { z } from "@hono/zod-openapi";
import { SPEECH_FORMATS } from "../providers/types";

/** `POST /v1/audio/transcriptions` and `/v1/audio/speech` as OpenAI defines them; unknown fields are dropped. */

export const MAX_AUDIO_BYTES = 25 * 1024 * 1024;
export const TRANSCRIPT_FORMATS = ["json", "text", "verbose_json", "srt", "vtt"] as const;

export const TranscriptionForm = z
  .object({
    file: z
      .instanceof(File, { message: "must be an audio file" })
      .refine((file) => file.size > 0, "must not be empty")
      .refine((file) => file.size <= MAX_AUDIO_BYTES, "may be at most 25 MB")
      .openapi({ type: "string", format: "binary" }),
    model: z.string().min(1).max(200),
    language: z
      .string()
      .regex(/^[a-z]{2}$/, "an ISO-639-1 code, like en")
      .optional(),
    prompt: z.string().max(2_000).optional(),
    response_format: z.enum(TRANSCRIPT_FORMATS).default("json"),
    temperature: z.coerce.number().min(0).max(1).optional(),
  })
  .openapi("TranscriptionRequest");
export type TranscriptionForm = z.infer<typeof TranscriptionForm>;

export const TranscriptionSchema = z
  .object({
    task: z.literal("transcribe").optional(),
    text: z.string(),
    language: z.string().optional(),
    duration: z.number().optional(),
    segments: z
      .array(z.object({ id: z.number().int(), start: z.number(), end: z.number(), text: z.string() }))
      .optional(),
  })
  .openapi("Transcription", { description: "`json` has `text`; `verbose_json` adds language, duration and segments" });

export const SpeechBody = z
  .object({
    model: z.string().min(1).max(200),
    input: z.string().min(1).max(4_096),
    voice: z.string().regex(/^[a-z]{1,32}$/, "a voice name, like alloy"),
    response_format: z.enum(SPEECH_FORMATS).default("mp3"),
    speed: z.number().min(0.25).max(4).optional(),
  })
  .openapi("SpeechRequest");
export type SpeechBody = z.infer<typeof SpeechBody>;
