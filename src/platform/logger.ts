/**
 * Structured logs: one JSON object per line on the console, which Workers Logs indexes.
 * Field names that look like credentials are redacted so a careless caller cannot leak a
 * password, token or key into the logs.
 */

export const LOG_LEVELS = ["debug", "info", "warn", "error"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
export type LogFields = Record<string, unknown>;

export type Logger = {
  [L in LogLevel]: (message: string, fields?: LogFields) => void;
} & { child(fields: LogFields): Logger };

const SECRET_FIELD = /pass(word)?|secret|token|authorization|cookie|api[-_]?key|signature|prompt/i;

function redact(fields: LogFields): LogFields {
  const out: LogFields = {};
  for (const [key, value] of Object.entries(fields)) {
    out[key] = SECRET_FIELD.test(key) ? "[redacted]" : value;
  }
  return out;
}

export function createLogger(minLevel: LogLevel = "info", base: LogFields = {}): Logger {
  const threshold = LOG_LEVELS.indexOf(minLevel);
  const write = (level: LogLevel, message: string, fields: LogFields = {}) => {
    if (LOG_LEVELS.indexOf(level) < threshold) return;
    const line = JSON.stringify({ level, message, ...redact({ ...base, ...fields }) });
    if (level === "error") console.error(line);
    else if (level === "warn") console.warn(line);
    else console.log(line);
  };
  return {
    debug: (message, fields) => write("debug", message, fields),
    info: (message, fields) => write("info", message, fields),
    warn: (message, fields) => write("warn", message, fields),
    error: (message, fields) => write("error", message, fields),
    child: (fields) => createLogger(minLevel, { ...base, ...fields }),
  };
}

/** What an unexpected exception contributes to a log line: enough to debug, kept server-side. */
export function describeError(error: unknown): LogFields {
  if (error instanceof Error) return { error: error.message, errorName: error.name, stack: error.stack };
  return { error: String(error) };
}
