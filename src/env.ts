import { z } from "zod";
import { AppError, type FieldError } from "./platform/errors";
import { createLogger, LOG_LEVELS, type LogFields, type Logger } from "./platform/logger";
import { Redactor } from "./platform/redact";

/**
 * Configuration: every variable, secret and binding of the Worker, parsed once per `env`
 * object. A bad or missing value answers 500 `config_invalid` naming the keys, never their
 * values. A production deployment refuses any value meant for development (every value in
 * `.dev.vars.example` carries DEV_VALUE_PREFIX, so a copied development key cannot ship) and
 * browser origins that are not https.
 */

export const DEV_VALUE_PREFIX = "dev-only-";

const origin = z
  .string()
  .trim()
  .refine((value) => {
    try {
      const url = new URL(value);
      return (url.protocol === "https:" || url.protocol === "http:") && url.origin === value;
    } catch {
      return false;
    }
  }, "must be a comma-separated list of origins like https://app.example.com");

/** A comma-separated list, empty by default, each item checked by `item`. */
const commaList = <T extends z.ZodType<unknown, string>>(item: T, fallback = "") =>
  z
    .string()
    .default(fallback)
    .transform((value) =>
      value
        .split(",")
        .map((entry) => entry.trim())
        .filter(Boolean),
    )
    .pipe(z.array(item));

/** A JSON-encoded value, parsed then checked; messages never echo the value. */
const json = <T extends z.ZodType>(schema: T) =>
  z
    .string()
    .transform((value, ctx) => {
      try {
        return JSON.parse(value) as unknown;
      } catch {
        ctx.addIssue({ code: "custom", message: "must be JSON" });
        return z.NEVER;
      }
    })
    .pipe(schema);

/** A private Ed25519 key as a JWK, with the `kid` tokens name it by. */
const signingKey = z.object({
  kty: z.literal("OKP"),
  crv: z.literal("Ed25519"),
  x: z.string().min(40),
  d: z.string().min(40),
  kid: z.string().min(1).max(64),
});
export type SigningKey = z.infer<typeof signingKey>;

const binding = <T>(what: string) =>
  z.custom<T>((value) => typeof value === "object" && value !== null, `the ${what} binding is missing`);

export const configSchema = z
  .object({
    ENVIRONMENT: z.enum(["development", "test", "production"]),
    LOG_LEVEL: z.enum(LOG_LEVELS).default("info"),
    CORS_ORIGINS: commaList(origin),
    /** Signing keys, current first; the others still verify, so keys rotate without logging anyone out. */
    JWT_SIGNING_KEYS: json(
      z
        .array(signingKey)
        .min(1, "needs at least one key")
        .refine((keys) => new Set(keys.map((key) => key.kid)).size === keys.length, "kids must be unique"),
    ),
    JWT_ISSUER: z.string().min(1).default("stratus"),
    JWT_AUDIENCE: z.string().min(1).default("stratus-api"),
    REFRESH_REUSE_INTERVAL_SECONDS: z.coerce.number().int().min(0).max(300).default(10),
    /** How long a credit hold may stay open before the cron releases it: longer than any AI call. */
    CREDIT_HOLD_TTL_SECONDS: z.coerce.number().int().min(60).max(86_400).default(900),
    /** Where links in emails point: the app that handles verification and reset tokens. */
    APP_URL: z.url().default("http://localhost:8787"),
    EMAIL_PROVIDER: z.enum(["log", "resend"]).default("log"),
    EMAIL_FROM: z.string().min(3).max(200).default("Stratus <no-reply@localhost>"),
    RESEND_API_KEY: z.string().min(1).optional(),
    RESEND_BASE_URL: z.url().default("https://api.resend.com"),
    /** Billing is off (503 `provider_unavailable`) until both Stripe secrets are set. */
    STRIPE_SECRET_KEY: z.string().min(1).optional(),
    STRIPE_WEBHOOK_SECRET: z.string().min(1).optional(),
    /** Another Stripe API endpoint (the local simulator); Stripe's own when unset. */
    STRIPE_API_HOST: z.string().min(1).optional(),
    STRIPE_API_PORT: z.coerce.number().int().min(1).max(65_535).optional(),
    STRIPE_API_PROTOCOL: z.enum(["http", "https"]).optional(),
    /** Credit packs on sale: `[{"id": "credits-5000", "credits": 5000, "priceId": "price_…"}]`. */
    BILLING_CREDIT_PACKS: json(
      z.array(
        z
          .object({
            id: z.string().regex(/^[a-z0-9-]{1,40}$/),
            credits: z.number().int().positive(),
            priceId: z.string().min(1),
          })
          .strict(),
      ),
    ).default([]),
    /** Plans on sale by billing interval: `[{"plan": "pro", "interval": "month", "priceId": "price_…"}]`. */
    BILLING_PLAN_PRICES: json(
      z
        .array(
          z
            .object({
              plan: z.string().regex(/^[a-z0-9-]{1,40}$/),
              interval: z.enum(["month", "year"]),
              priceId: z.string().min(1),
            })
            .strict(),
        )
        .refine(
          (prices) => new Set(prices.map((price) => `${price.plan}:${price.interval}`)).size === prices.length,
          "one price per plan and interval",
        ),
    ).default([]),
    /** Origins that checkout and portal sessions may send the customer back to. */
    BILLING_REDIRECT_ALLOWLIST: commaList(origin),
    /** Days a subscription stays `past_due` with its plan before the cron downgrades it to free. */
    BILLING_GRACE_DAYS: z.coerce.number().int().min(0).max(60).default(7),
    /** AI providers: a provider's models are offered only when its key is set. */
    OPENAI_API_KEY: z.string().min(1).optional(),
    OPENAI_BASE_URL: z.url().default("https://api.openai.com/v1"),
    ANTHROPIC_API_KEY: z.string().min(1).optional(),
    ANTHROPIC_BASE_URL: z.url().default("https://api.anthropic.com"),
    /** Gemini and Mistral through their OpenAI-compatible endpoints. */
    GOOGLE_API_KEY: z.string().min(1).optional(),
    GOOGLE_BASE_URL: z.url().default("https://generativelanguage.googleapis.com/v1beta/openai"),
    MISTRAL_API_KEY: z.string().min(1).optional(),
    MISTRAL_BASE_URL: z.url().default("https://api.mistral.ai/v1"),
    /** Any OpenAI-compatible server (Ollama, vLLM, Groq): its base URL, key if any, and the models to offer. */
    OPENAI_COMPATIBLE_BASE_URL: z.url().optional(),
    OPENAI_COMPATIBLE_API_KEY: z.string().min(1).optional(),
    OPENAI_COMPATIBLE_MODELS: commaList(
      z.string().regex(/^[\w.:/-]{1,100}$/, "model names: letters, digits and . : / _ -"),
    ),
    /** A chat upstream that has not answered with its headers by then is abandoned (retried, or the next). */
    AI_CONNECT_TIMEOUT_MS: z.coerce.number().int().min(100).max(60_000).default(10_000),
    /** An upstream that has not sent its first token by then is abandoned (retried, or the next). */
    AI_FIRST_TOKEN_TIMEOUT_MS: z.coerce.number().int().min(1_000).max(300_000).default(30_000),
    /** The most an AI call may take, end to end; credit holds must outlive it. */
    AI_TOTAL_TIMEOUT_MS: z.coerce.number().int().min(5_000).max(3_600_000).default(300_000),
    /** A provider failing this many times in a row is skipped for the cool-down, then tried once. */
    AI_CIRCUIT_FAILURES: z.coerce.number().int().min(1).max(1_000).default(5),
    AI_CIRCUIT_COOLDOWN_MS: z.coerce.number().int().min(1_000).max(3_600_000).default(30_000),
    /** How long AI usage rows are kept; the cron deletes older ones. */
    AI_USAGE_RETENTION_DAYS: z.coerce.number().int().min(1).max(3_650).default(400),
    /** How long conversation messages are kept; the cron deletes older ones (their conversations stay). */
    AI_MESSAGE_RETENTION_DAYS: z.coerce.number().int().min(1).max(3_650).default(400),
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
    DB: binding<D1Database>("D1"),
    CACHE: binding<KVNamespace>("KV"),
    FILES: binding<R2Bucket>("R2"),
    JOBS: binding<Queue>("Queue"),
    RATE_LIMITER: binding<DurableObjectNamespace>("Durable Object"),
  })
  .superRefine((config, ctx) => {
    if (config.CREDIT_HOLD_TTL_SECONDS * 1000 <= config.AI_TOTAL_TIMEOUT_MS) {
      ctx.addIssue({
        code: "custom",
        path: ["CREDIT_HOLD_TTL_SECONDS"],
        message: "must be longer than AI_TOTAL_TIMEOUT_MS, or holds of running AI calls expire",
      });
    }
    if (config.TRANSLATE_TOTAL_TIMEOUT_MS < config.TRANSLATE_TIMEOUT_MS) {
      ctx.addIssue({
        code: "custom",
        path: ["TRANSLATE_TOTAL_TIMEOUT_MS"],
        message: "must be at least TRANSLATE_TIMEOUT_MS, or no provider call could finish",
      });
    }
    if (config.CREDIT_HOLD_TTL_SECONDS * 1000 <= config.TRANSLATE_TOTAL_TIMEOUT_MS) {
      ctx.addIssue({
        code: "custom",
        path: ["CREDIT_HOLD_TTL_SECONDS"],
        message: "must be longer than TRANSLATE_TOTAL_TIMEOUT_MS, or holds of running translations expire",
      });
    }
    if (config.EMAIL_PROVIDER === "resend" && !config.RESEND_API_KEY) {
      ctx.addIssue({ code: "custom", path: ["RESEND_API_KEY"], message: "is required when EMAIL_PROVIDER is resend" });
    }
  });

export type Config = z.infer<typeof configSchema>;

/** What production refuses though development accepts it: development values, plain-http origins. */
function productionProblems(config: Config, raw: Record<string, unknown>): FieldError[] {
  const devValues = Object.keys(raw).filter((key) => {
    const value = raw[key];
    return typeof value === "string" && value.includes(DEV_VALUE_PREFIX);
  });
  const problems: FieldError[] = devValues.map((path) => ({
    path,
    message: "a development value is refused in production",
  }));
  if (config.CORS_ORIGINS.some((origin) => !origin.startsWith("https://"))) {
    problems.push({ path: "CORS_ORIGINS", message: "production origins must use https" });
  }
  if (config.BILLING_REDIRECT_ALLOWLIST.some((origin) => !origin.startsWith("https://"))) {
    problems.push({ path: "BILLING_REDIRECT_ALLOWLIST", message: "production redirects must use https" });
  }
  if (config.EMAIL_PROVIDER === "log") {
    problems.push({ path: "EMAIL_PROVIDER", message: "production must send email (resend), not only log it" });
  }
  return problems;
}

/** Parses raw Worker bindings; throws `config_invalid` naming bad keys, never values. */
export function parseConfig(raw: Record<string, unknown>): Config {
  const result = configSchema.safeParse(raw);
  if (!result.success) {
    const errors = result.error.issues.map((issue) => ({
      path: issue.path.map(String).join(".") || "(root)",
      message: issue.message,
    }));
    const keys = [...new Set(errors.map((error) => error.path))];
    throw new AppError("config_invalid", `Invalid configuration: ${keys.join(", ")}`, { errors });
  }
  if (result.data.ENVIRONMENT === "production") {
    const errors = productionProblems(result.data, raw);
    if (errors.length > 0) {
      const keys = [...new Set(errors.map((error) => error.path))];
      throw new AppError("config_invalid", `Invalid configuration for production: ${keys.join(", ")}`, { errors });
    }
  }
  return result.data;
}

const parsed = new WeakMap<object, Config>();

/** `parseConfig`, cached per `env` object: the runtime reuses it across requests. */
export function configOf(env: Env): Config {
  let config = parsed.get(env);
  if (!config) {
    config = parseConfig(env as unknown as Record<string, unknown>);
    parsed.set(env, config);
  }
  return config;
}

/** Configuration keys whose values are secrets: every `*_KEY`, `*_KEYS`, `*SECRET*`, `*_TOKEN`, `*PASSWORD*`. */
const SECRET_KEY_NAME = /(_KEYS?$|SECRET|_TOKEN$|PASSWORD)/;

/** The private parts of a JSON-encoded key list (JWT_SIGNING_KEYS), secrets on their own too. */
function privateParts(value: string): string[] {
  try {
    const parsed: unknown = JSON.parse(value);
    return (Array.isArray(parsed) ? parsed : [])
      .map((key: unknown) => (typeof key === "object" && key !== null && "d" in key ? key.d : undefined))
      .filter((part): part is string => typeof part === "string");
  } catch {
    return [];
  }
}

const redactors = new WeakMap<object, Redactor>();

/** Removes every secret value of this deployment (and credential-shaped text) from log text. */
export function redactorOf(env: Env): Redactor {
  let redactor = redactors.get(env);
  if (!redactor) {
    const secrets = Object.entries(env as unknown as Record<string, unknown>).flatMap(([key, value]) =>
      typeof value === "string" && SECRET_KEY_NAME.test(key) ? [value, ...privateParts(value)] : [],
    );
    redactor = new Redactor(secrets);
    redactors.set(env, redactor);
  }
  return redactor;
}

/** A logger at the configured level that never writes this deployment's secrets. */
export const loggerOf = (env: Env, base: LogFields = {}): Logger =>
  createLogger(configOf(env).LOG_LEVEL, base, redactorOf(env));
