import { z } from "zod";
import { aiConfig } from "./modules/ai/api";
import { billingConfig } from "./modules/billing/api";
import { emailConfig } from "./modules/email/api";
import { filesConfig } from "./modules/files/api";
import { identityConfig } from "./modules/identity/api";
import { translateConfig } from "./modules/translate/api";
import { type Complain, DEV_VALUE_PREFIX, platformConfig } from "./platform/config";
import { AppError, type FieldError } from "./platform/errors";
import { createLogger, type LogFields, type Logger } from "./platform/logger";
import { Redactor } from "./platform/redact";

/**
 * Configuration: every variable, secret and binding of the Worker, in one schema merged from
 * the platform's keys and each module's fragment (`<module>/config.ts`), parsed once per `env`
 * object. A bad or missing value answers 500 `config_invalid` naming the keys, never their
 * values. A production deployment refuses any value meant for development (every value in
 * `.dev.vars.example` carries DEV_VALUE_PREFIX, so a copied development key cannot ship) and
 * what each fragment refuses there (plain-http origins, email that is only logged). Services
 * receive the parsed config (`RequestContext.config`); `configOf` is for entry points.
 */

export { DEV_VALUE_PREFIX };

/** Every module's fragment, the platform's first; a module that adds keys adds its fragment here. */
const fragments = [
  platformConfig,
  identityConfig,
  emailConfig,
  billingConfig,
  aiConfig,
  translateConfig,
  filesConfig,
] as const;

const configSchema = z
  .object({
    ...platformConfig.keys,
    ...identityConfig.keys,
    ...emailConfig.keys,
    ...billingConfig.keys,
    ...aiConfig.keys,
    ...translateConfig.keys,
    ...filesConfig.keys,
  })
  .superRefine((config, ctx) => {
    const complain: Complain = (key, message) => ctx.addIssue({ code: "custom", path: [key], message });
    for (const fragment of fragments) fragment.rules?.(config, complain);
    // Between modules: a credit hold must outlive the work it pays for.
    const holdMs = config.CREDIT_HOLD_TTL_SECONDS * 1000;
    if (holdMs <= config.AI_TOTAL_TIMEOUT_MS) {
      complain(
        "CREDIT_HOLD_TTL_SECONDS",
        "must be longer than AI_TOTAL_TIMEOUT_MS, or holds of running AI calls expire",
      );
    }
    if (holdMs <= config.TRANSLATE_TOTAL_TIMEOUT_MS) {
      complain(
        "CREDIT_HOLD_TTL_SECONDS",
        "must be longer than TRANSLATE_TOTAL_TIMEOUT_MS, or holds of running translations expire",
      );
    }
  });

export type Config = z.infer<typeof configSchema>;

/** What production refuses though development accepts it: development values, and each fragment's refusals. */
function productionProblems(config: Config, raw: Record<string, unknown>): FieldError[] {
  const devValues = Object.keys(raw).filter((key) => {
    const value = raw[key];
    return typeof value === "string" && value.includes(DEV_VALUE_PREFIX);
  });
  return [
    ...devValues.map((path) => ({ path, message: "a development value is refused in production" })),
    ...fragments.flatMap((fragment) => fragment.production?.(config) ?? []),
  ];
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
