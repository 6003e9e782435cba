import type { RequestContext } from "../../../platform/context";
import { AppError } from "../../../platform/errors";
import { UpstreamError } from "../../../platform/upstreams/error";
import { budgetOf, type ChatRequest, complete, deploymentsOf, estimateInputTokens, type Model } from "../../ai/api";
import type { Meter } from "../../billing/api";
import { codePoints } from "../text";
import type { TranslateProvider } from "./types";

/**
 * Translation by a model of the AI gateway (`TRANSLATE_AI_MODEL`, with its fallbacks): the
 * texts go as one JSON array and come back as one, through the gateway's retries and fallbacks
 * but not its credits: the translate module's single hold covers the call, and every answer is
 * paid on its meter, one that proves unusable (not JSON, too few items) included.
 */

/**
 * Room for an answer: a character is at most a token in any script, plus the JSON around each
 * text. Every character counts, markup too: the model writes HTML's tags back.
 */
const answerTokensFor = (texts: string[]) => texts.reduce((sum, text) => sum + codePoints(text) + 8, 64);

const LANGUAGES = [
  "ar",
  "bg",
  "cs",
  "da",
  "de",
  "el",
  "en",
  "es",
  "et",
  "fi",
  "fr",
  "he",
  "hi",
  "hu",
  "id",
  "it",
  "ja",
  "ko",
  "lt",
  "lv",
  "nb",
  "nl",
  "pl",
  "pt",
  "ro",
  "ru",
  "sk",
  "sl",
  "sv",
  "th",
  "tr",
  "uk",
  "vi",
  "zh-Hans",
  "zh-Hant",
];

function arraySchema(name: string, items: Record<string, unknown>) {
  return {
    type: "json_schema" as const,
    name,
    strict: true,
    schema: {
      type: "object",
      properties: { [name]: { type: "array", items } },
      required: [name],
      additionalProperties: false,
    },
  };
}

export function aiTranslate(ctx: Pick<RequestContext, "config" | "logger" | "account">): TranslateProvider | null {
  const { config } = ctx;
  let deployments: Model[];
  try {
    deployments = deploymentsOf(config, config.TRANSLATE_AI_MODEL, ["chat"]);
  } catch (error) {
    if (error instanceof AppError) return null; // the model is not offered here: no `ai` provider
    throw error;
  }
  const structured = deployments.every((model) => model.capabilities.includes("json_schema"));

  /** The call for texts and an instruction, and the answer's array under `key`. */
  const prepare = (instruction: string, texts: string[], key: string, items: object) => {
    const request: Omit<ChatRequest, "model"> = {
      messages: [
        {
          role: "system",
          content: `${instruction} The user message is a JSON array of ${texts.length} strings. Answer only a JSON object {"${key}": [...]} with exactly one entry per string, in the same order.`,
        },
        { role: "user", content: JSON.stringify(texts) },
      ],
      maxTokens: 0,
      n: 1,
      temperature: 0,
      ...(structured ? { responseFormat: arraySchema(key, items as Record<string, unknown>) } : {}),
    };
    const { maxTokens, hold } = budgetOf({
      deployments,
      inputTokens: estimateInputTokens(request),
      requestedMaxTokens: answerTokensFor(texts),
      n: 1,
      availableMillicredits: Number.POSITIVE_INFINITY,
    });
    return { request: { ...request, maxTokens }, ceiling: hold };
  };

  async function call<T>(
    prepared: ReturnType<typeof prepare>,
    key: string,
    count: number,
    signal: AbortSignal,
    meter: Meter,
  ) {
    let answer: Awaited<ReturnType<typeof complete>>;
    try {
      answer = await complete(ctx, prepared.request, { deployments, meter, signal });
    } catch (error) {
      // The gateway's answers in the engine's terms: none of its deployments answered (it retried
      // them already) is a fault, a request a model turned down is a refusal; the next provider may do either.
      if (error instanceof AppError) {
        throw new UpstreamError(`ai: ${error.code}`, { retryable: error.code === "provider_unavailable" });
      }
      throw error;
    }
    let items: unknown;
    try {
      items = (JSON.parse(answer.text.replace(/^```(?:json)?\s*|\s*```$/g, "")) as Record<string, unknown>)[key];
    } catch {
      throw UpstreamError.invalidAnswer("ai", `${answer.model.id} did not answer JSON`);
    }
    if (!Array.isArray(items) || items.length !== count) {
      throw UpstreamError.invalidAnswer(
        "ai",
        `${answer.model.id} answered ${Array.isArray(items) ? items.length : "no"} items for ${count}`,
      );
    }
    return items as T[];
  }

  const translation = (request: Parameters<TranslateProvider["translate"]>[0]) =>
    prepare(
      `Translate each string ${request.source ? `from ${request.source} ` : ""}into the language with the BCP 47 tag ${request.target}.${
        request.format === "html"
          ? " The strings are HTML: translate the text only and keep every tag, attribute and entity as it is."
          : ""
      }`,
      request.texts,
      "translations",
      { type: "string" },
    );
  const detection = (texts: string[]) =>
    prepare(
      "Name the language of each string as a BCP 47 tag, with your confidence from 0 to 1.",
      texts,
      "detections",
      {
        type: "object",
        properties: { language: { type: "string" }, confidence: { type: "number" } },
        required: ["language", "confidence"],
        additionalProperties: false,
      },
    );

  return {
    id: "ai",
    // The gateway retries and falls back inside the call: one attempt here, then the next provider.
    attempts: 1,
    ceiling: (request) => translation(request).ceiling,
    async translate(request, signal, meter) {
      const items = await call<unknown>(translation(request), "translations", request.texts.length, signal, meter);
      if (!items.every((item) => typeof item === "string"))
        throw UpstreamError.invalidAnswer("ai", "a translation is not a string");
      return { translations: (items as string[]).map((text) => ({ text })) };
    },
    detectCeiling: (texts) => detection(texts).ceiling,
    async detect(texts, _characters, signal, meter) {
      const items = await call<{ language?: unknown; confidence?: unknown }>(
        detection(texts),
        "detections",
        texts.length,
        signal,
        meter,
      );
      return {
        detections: items.map((item) => ({
          language: typeof item?.language === "string" ? item.language : "und",
          confidence: typeof item?.confidence === "number" ? Math.min(1, Math.max(0, item.confidence)) : 0,
        })),
      };
    },
    languages: async () => LANGUAGES.map((code) => ({ code })),
  };
}
