import { patternRedactor, type Redactor } from "./redact";

/**
 * Structured logs: one JSON object per line on the console, which Workers Logs indexes.
 * Two defences, at any depth, so a careless caller cannot leak credentials: fields whose name
 * says credential (password, token, secret, authorization, cookie, signature, api key, prompt)
 * are dropped, while names that merely contain such a word (`promptTokens`, `passed`) are kept;
 * and every string, the message included, goes through a `Redactor`, which removes the
 * deployment's secret values and credential-shaped text (an upstream's error echoing our key).
 */

export const LOG_LEVELS = ["debug", "info", "warn", "error"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
export type LogFields = Record<string, unknown>;

const SECRET_WORDS = new Set([
  "password",
  "passwd",
  "secret",
  "token",
  "authorization",
  "cookie",
  "signature",
  "prompt",
]);
const SECRET_KEY_QUALIFIERS = new Set(["api", "secret", "private", "signing"]);
/** Deeper values are not walked (the walk stays bounded); they are replaced, never written unread. */
const MAX_DEPTH = 8;

/** `refreshToken`, `api_key`, `X-Api-Key` are secret; `promptTokens`, `cacheKey` are not. */
export function isSecretField(name: string): boolean {
  const words = name
    .replace(/([a-z0-9])([A-Z])/g, "$1_$2")
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter(Boolean);
  const last = words.at(-1) ?? "";
  if (SECRET_WORDS.has(last)) return true;
  return last === "key" && SECRET_KEY_QUALIFIERS.has(words.at(-2) ?? "");
}

function redact(value: unknown, depth: number, redactor: Redactor): unknown {
  if (typeof value === "string") return redactor.text(value);
  if (value === null || typeof value !== "object") return value;
  if (depth > MAX_DEPTH) return "[too deep]";
  if (Array.isArray(value)) return value.map((item) => redact(item, depth + 1, redactor));
  const out: LogFields = {};
  for (const [key, inner] of Object.entries(value)) {
    out[key] = isSecretField(key) ? "[redacted]" : redact(inner, depth + 1, redactor);
  }
  return out;
}

/** A class, not closures: one is made per request, so construction stays cheap. */
export class Logger {
  private readonly threshold: number;

  constructor(
    private readonly minLevel: LogLevel = "info",
    private readonly base: LogFields = {},
    private readonly redactor: Redactor = patternRedactor,
  ) {
    this.threshold = LOG_LEVELS.indexOf(minLevel);
  }

  /** Lets a caller skip building fields that would not be written. */
  enabled(level: LogLevel): boolean {
    return LOG_LEVELS.indexOf(level) >= this.threshold;
  }

  /** Text as this logger would write it, for what is kept elsewhere (an error stored with its task). */
  redact(text: string): string {
    return this.redactor.text(text);
  }

  child(fields: LogFields): Logger {
    return new Logger(this.minLevel, { ...this.base, ...fields }, this.redactor);
  }

  debug(message: string, fields?: LogFields): void {
    this.write("debug", message, fields);
  }

  info(message: string, fields?: LogFields): void {
    this.write("info", message, fields);
  }

  warn(message: string, fields?: LogFields): void {
    this.write("warn", message, fields);
  }

  error(message: string, fields?: LogFields): void {
    this.write("error", message, fields);
  }

  private write(level: LogLevel, message: string, fields: LogFields = {}): void {
    if (!this.enabled(level)) return;
    const line = JSON.stringify({
      level,
      message: this.redactor.text(message),
      ...(redact({ ...this.base, ...fields }, 0, this.redactor) as LogFields),
    });
    if (level === "error") console.error(line);
    else if (level === "warn") console.warn(line);
    else console.log(line);
  }
}

/** A logger; without a `redactor` (no configuration at hand), only credential-shaped text is removed. */
export function createLogger(minLevel: LogLevel = "info", base: LogFields = {}, redactor?: Redactor): Logger {
  return new Logger(minLevel, base, redactor);
}

/** What an unexpected exception contributes to a log line: enough to debug, kept server-side. */
export function describeError(error: unknown): LogFields {
  if (error instanceof Error) return { error: error.message, errorName: error.name, stack: error.stack };
  return { error: String(error) };
}
