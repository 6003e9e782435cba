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
  /** The most `translate(request)` can cost, in unrounded millicredits. */
  ceiling(request: TranslateRequest): number;
  /** One translation per text, in order, and what the call cost (unrounded millicredits). */
  translate(request: TranslateRequest, signal: AbortSignal): Promise<{ translations: Translated[]; cost: number }>;
  /** Providers that detect languages; `characters` as for translation. */
  detect?(texts: string[], characters: number, signal: AbortSignal): Promise<{ detections: Detection[]; cost: number }>;
  detectCeiling?(texts: string[], characters: number): number;
  /** The languages it translates into, as BCP 47 codes. */
  languages(signal: AbortSignal): Promise<{ code: string; name?: string }[]>;
};

/** A provider that failed: the next one in the order is tried. */
export class TranslateProviderError extends Error {
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = "TranslateProviderError";
  }
}

/** A fetch to a provider: network failures and non-2xx answers as `TranslateProviderError`. */
export async function providerFetch(label: string, url: string, init: RequestInit): Promise<Response> {
  let response: Response;
  try {
    response = await fetch(url, init);
  } catch (error) {
    if (init.signal?.aborted) throw init.signal.reason;
    throw new TranslateProviderError(
      `${label}: network error: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  if (!response.ok) {
    // The body may name the problem; it never carries our key, and is cut short for the logs.
    const detail = (await response.text().catch(() => "")).slice(0, 300);
    throw new TranslateProviderError(`${label}: ${response.status} ${detail}`, response.status);
  }
  return response;
}

/** The body as JSON, or a provider failure when it is not. */
export async function jsonOf<T>(label: string, response: Response): Promise<T> {
  try {
    return (await response.json()) as T;
  } catch {
    throw new TranslateProviderError(`${label}: the answer is not JSON`);
  }
}
