import { z } from "zod";
import { commaList, configFragment } from "../../platform/config";

/** Translation's keys: its providers in order, their prices, the cache, the time limits and retention. */
export const translateConfig = configFragment({
  keys: {
    /** Translation providers: Google Cloud Translation v2 and DeepL, each used when its key is set. */
    GOOGLE_TRANSLATE_API_KEY: z.string().min(1).optional(),
    GOOGLE_TRANSLATE_BASE_URL: z.url().default("https://translation.googleapis.com"),
    DEEPL_API_KEY: z.string().min(1).optional(),
    DEEPL_BASE_URL: z.url().default("https://api.deepl.com"),
    /** The order translation tries its providers in; those without a key (or model) are skipped. */
    TRANSLATE_PROVIDERS: commaList(z.enum(["google", "deepl", "ai"]), "google,deepl,ai"),
    /** The AI gateway's model that translates when the `ai` provider's turn comes. */
    TRANSLATE_AI_MODEL: z.string().min(1).default("gpt-4o-mini"),
    /** What Google and DeepL cost, US$ per million characters (= millicredits per character). */
    TRANSLATE_GOOGLE_PRICE_PER_MILLION: z.coerce.number().min(0).max(10_000).default(20),
    TRANSLATE_DEEPL_PRICE_PER_MILLION: z.coerce.number().min(0).max(10_000).default(25),
    /** How long a translated segment stays in the KV cache (KV's minimum TTL is 60 s). */
    TRANSLATE_CACHE_TTL_SECONDS: z.coerce.number().int().min(60).max(31_536_000).default(2_592_000),
    /** The most one provider call may take before it is retried, or the next provider tried. */
    TRANSLATE_TIMEOUT_MS: z.coerce.number().int().min(500).max(120_000).default(15_000),
    /** The most a translation's provider calls may take in all, retries and fallbacks included. */
    TRANSLATE_TOTAL_TIMEOUT_MS: z.coerce.number().int().min(500).max(600_000).default(45_000),
    /** A translation provider failing this many times in a row is skipped for the cool-down, then tried once. */
    TRANSLATE_CIRCUIT_FAILURES: z.coerce.number().int().min(1).max(1_000).default(5),
    TRANSLATE_CIRCUIT_COOLDOWN_MS: z.coerce.number().int().min(1_000).max(3_600_000).default(30_000),
    /** How long a translation request's usage rows (the stats) are kept. */
    TRANSLATE_USAGE_RETENTION_DAYS: z.coerce.number().int().min(1).max(3_650).default(400),
  },
  rules: (config, complain) => {
    if (config.TRANSLATE_TOTAL_TIMEOUT_MS < config.TRANSLATE_TIMEOUT_MS) {
      complain("TRANSLATE_TOTAL_TIMEOUT_MS", "must be at least TRANSLATE_TIMEOUT_MS, or no provider call could finish");
    }
  },
});
