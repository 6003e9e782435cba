import { z } from "zod";
import type { Redactor } from "../../../platform/redact";
import { answerJson, checkAnswer, failedAnswerOf } from "../../../platform/upstreams/answers";
import { isRetryableStatus, retryAfterMs, UpstreamError } from "../../../platform/upstreams/error";
import type { Meter } from "../../billing/api";
import type { TextFormat } from "../text";

/** One interface per translation provider; the module does caching, credits and fallbacks once. */

export type TranslateProviderId = "google" | "deepl" | "ai";

export type TranslateRequest = {
  /** Distinct segments, in order; BCP 47 languages. */
  texts: string[];
  target: string;
  source?: string;
  format: TextFormat;
  /** Code points of `texts` as counted for billing (text nodes only, for HTML). */
  characters: number;
};

export type Translated = { text: string; detectedSourceLanguage?: string };

export type Detection = { language: string; confidence: number };

export type TranslateProvider = {
  id: TranslateProviderId;
  /** Attempts before the next provider is tried (3 unless it retries inside itself, as `ai` does). */
  attempts?: number;
  /** The most `translate(request)` can cost, in unrounded millicredits. */
  ceiling(request: TranslateRequest): number;
  /**
   * One translation per text, in order. What each answer costs (unrounded millicredits) goes on
   * `meter`, the request's hold, as soon as the provider answered: an AI model's answer is paid
   * for even when it then proves unusable.
   */
  translate(request: TranslateRequest, signal: AbortSignal, meter: Meter): Promise<{ translations: Translated[] }>;
  /** Providers that detect languages; `characters` and `meter` as for translation. */
  detect?(texts: string[], characters: number, signal: AbortSignal, meter: Meter): Promise<{ detections: Detection[] }>;
  detectCeiling?(texts: string[], characters: number): number;
  /** The languages it translates into, as BCP 47 codes. */
  languages(signal: AbortSignal): Promise<{ code: string; name?: string }[]>;
};

/**
 * A fetch to a provider: network failures and non-2xx answers as an `UpstreamError` (retried,
 * or the next provider tried, as the resilience engine decides). `redactor` removes the
 * provider's key from what is kept of its answer (an upstream may echo it).
 */
export async function providerFetch(
  label: string,
  url: string,
  init: RequestInit,
  redactor: Redactor,
): Promise<Response> {
  let response: Response;
  try {
    response = await fetch(url, init);
  } catch (error) {
    if (init.signal?.aborted) throw init.signal.reason;
    throw new UpstreamError(`${label}: unreachable`, {
      retryable: true,
      unreachable: true,
      excerpt: redactor.excerpt(error instanceof Error ? error.message : String(error)),
    });
  }
  if (!response.ok) {
    const failed = await failedAnswerOf(response, redactor);
    throw new UpstreamError(`${label}: answered ${failed.status}`, {
      retryable: isRetryableStatus(failed.status),
      status: failed.status,
      retryAfterMs: retryAfterMs(response.headers),
      excerpt: failed.excerpt,
    });
  }
  return response;
}

/** Far more than a translation of the largest request (30 000 code points) takes. */
const MAX_ANSWER_BYTES = 8 * 1024 * 1024;

/** The body as JSON checked against what is used of it, or a provider failure. */
export async function answerOf<S extends z.ZodType>(
  label: string,
  response: Response,
  schema: S,
): Promise<z.output<S>> {
  const body = await answerJson(response, MAX_ANSWER_BYTES);
  if (!body.ok) throw UpstreamError.invalidAnswer(label, body.problem);
  const checked = checkAnswer(schema, body.value);
  if (!checked.ok) throw UpstreamError.invalidAnswer(label, checked.problem);
  return checked.value;
}

/** A language code as a provider writes it (`de`, `EN-GB`, `zh-TW`): short, letters, digits, dashes. */
export const ProviderLanguageCode = z.string().regex(/^[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8}){0,3}$/);
