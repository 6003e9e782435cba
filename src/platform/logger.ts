/**
 * Structured logs: one JSON object per line on the console, which Workers Logs indexes.
 * Field names that look like credentials are redacted so a careless caller cannot leak a
 * password, token or key into the logs.
 */

export const LOG_LEVELS = ["debug", "info", "warn", "error"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
export type LogFields = Record<string, unknown>;

const SECRET_FIELD = /pass(word)?|secret|token|authorization|cookie|api[-_]?key|signature|prompt/i;

function redact(fields: LogFields): LogFields {
  const out: LogFields = {};
  for (const [key, value] of Object.entries(fields)) {
    out[key] = SECRET_FIELD.test(key) ? "[redacted]" : value;
  }
  return out;
}

/** A class, not closures: one is made per request, so construction stays cheap. */
export class Logger {
  private readonly threshold: number;

  constructor(
    private readonly minLevel: LogLevel = "info",
    private readonly base: LogFields = {},
  ) {
    this.threshold = LOG_LEVELS.indexOf(minLevel);
  }

  /** Lets a caller skip building fields that would not be written. */
  enabled(level: LogLevel): boolean {
    return LOG_LEVELS.indexOf(level) >= this.threshold;
  }

  child(fields: LogFields): Logger {
    return new Logger(this.minLevel, { ...this.base, ...fields });
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
    const line = JSON.stringify({ level, message, ...redact({ ...this.base, ...fields }) });
    if (level === "error") console.error(line);
    else if (level === "warn") console.warn(line);
    else console.log(line);
  }
}

export function createLogger(minLevel: LogLevel = "info", base: LogFields = {}): Logger {
  return new Logger(minLevel, base);
}

/** What an unexpected exception contributes to a log line: enough to debug, kept server-side. */
export function describeError(error: unknown): LogFields {
  if (error instanceof Error) return { error: error.message, errorName: error.name, stack: error.stack };
  return { error: String(error) };
}
