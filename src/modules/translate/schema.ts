import { z } from "@hono/zod-openapi";
import { DateRangeFields } from "../../platform/date-range";
import { LanguageSchema } from "./languages";
import { codePoints } from "./text";

const MAX_SEGMENTS = 128;
const MAX_CHARACTERS = 30_000;

const ProviderSchema = z.enum(["google", "deepl", "ai"]);

/** One text or up to 128, at most 30 000 characters (code points) together. */
const TextsSchema = z
  .union([z.string(), z.array(z.string()).min(1).max(MAX_SEGMENTS)])
  .transform((q) => (typeof q === "string" ? [q] : q))
  .refine((texts) => texts.reduce((sum, text) => sum + codePoints(text), 0) <= MAX_CHARACTERS, {
    message: `at most ${MAX_CHARACTERS} characters in all`,
  })
  .openapi({
    description: `A text, or up to ${MAX_SEGMENTS} texts (at most ${MAX_CHARACTERS} characters in all)`,
    example: ["Hello, world"],
  });

export const TranslateBody = z
  .object({
    q: TextsSchema,
    target: LanguageSchema.openapi({ description: "BCP 47 tag of the language to translate into", example: "de" }),
    source: LanguageSchema.optional().openapi({ description: "BCP 47 tag; detected when absent", example: "en" }),
    format: z.enum(["text", "html"]).default("text").openapi({
      description: "`html` translates text nodes only and keeps the markup intact",
    }),
    provider: ProviderSchema.optional().openapi({
      description: "Only this provider (no fallback); its translations are cached apart",
    }),
  })
  .strict()
  .openapi("TranslateRequest");

export const TranslationSchema = z
  .object({
    translations: z.array(
      z.object({
        translatedText: z.string(),
        detectedSourceLanguage: z.string().optional(),
        provider: ProviderSchema,
        cached: z.boolean().openapi({ description: "Served from the cache (no credits spent)" }),
      }),
    ),
  })
  .openapi("Translation");

export const DetectBody = z
  .object({ q: TextsSchema, provider: ProviderSchema.optional() })
  .strict()
  .openapi("DetectRequest");

export const DetectionSchema = z
  .object({
    detections: z.array(
      z.object({
        language: z.string().openapi({ description: "BCP 47 tag (`und` when unknown)" }),
        confidence: z.number().min(0).max(1),
        provider: ProviderSchema,
      }),
    ),
  })
  .openapi("Detection");

export const LanguagesSchema = z
  .object({
    providers: z.array(
      z.object({
        provider: ProviderSchema,
        languages: z.array(z.object({ code: z.string(), name: z.string().optional() })),
      }),
    ),
  })
  .openapi("TranslationLanguages");

export const StatsQuery = z.object(DateRangeFields).strict();

const Figures = {
  characters: z.number().int().openapi({ description: "Characters translated (requested)" }),
  cachedCharacters: z.number().int().openapi({ description: "Of those, served from the cache" }),
  hitRate: z.number().min(0).max(1),
};

export const StatsSchema = z
  .object({
    from: z.string(),
    to: z.string(),
    ...Figures,
    providers: z.array(z.object({ provider: ProviderSchema, ...Figures })),
  })
  .openapi("TranslationStats");
