/**
 * The one error type of Stratus and its code → status table. Services throw `AppError`;
 * the error handler (`problem.ts`) renders it. Modules add their codes to `ERROR_CODES`.
 */

export const ERROR_CODES = {
  validation_failed: { status: 400, title: "Validation failed" },
  malformed_json: { status: 400, title: "Malformed JSON" },
  json_too_complex: { status: 400, title: "JSON too complex" },
  context_length_exceeded: { status: 400, title: "Context length exceeded" },
  content_filter: { status: 400, title: "Refused by the content policy" },
  invalid_image: { status: 400, title: "Invalid image" },
  invalid_token: { status: 400, title: "Invalid or expired token" },
  invalid_signature: { status: 400, title: "Invalid signature" },
  unauthorized: { status: 401, title: "Unauthorized" },
  invalid_credentials: { status: 401, title: "Invalid credentials" },
  invalid_refresh_token: { status: 401, title: "Invalid refresh token" },
  refresh_token_reused: { status: 401, title: "Refresh token reused" },
  insufficient_credits: { status: 402, title: "Insufficient credits" },
  payment_failed: { status: 402, title: "Payment failed" },
  budget_exceeded: { status: 402, title: "Budget exceeded" },
  forbidden: { status: 403, title: "Forbidden" },
  plan_limit: { status: 403, title: "Plan limit reached" },
  storage_quota_exceeded: { status: 403, title: "Storage quota exceeded" },
  not_found: { status: 404, title: "Not found" },
  model_not_found: { status: 404, title: "Model not found" },
  method_not_allowed: { status: 405, title: "Method not allowed" },
  conflict: { status: 409, title: "Conflict" },
  idempotency_key_in_use: { status: 409, title: "Idempotency key in use" },
  idempotency_key_reused: { status: 409, title: "Idempotency key reused" },
  payload_too_large: { status: 413, title: "Payload too large" },
  unsupported_media_type: { status: 415, title: "Unsupported media type" },
  range_not_satisfiable: { status: 416, title: "Range not satisfiable" },
  rate_limited: { status: 429, title: "Too many requests" },
  quota_exceeded: { status: 429, title: "Quota exceeded" },
  internal_error: { status: 500, title: "Internal error" },
  config_invalid: { status: 500, title: "Configuration invalid" },
  provider_unavailable: { status: 503, title: "Provider unavailable" },
  not_ready: { status: 503, title: "Not ready" },
  limiter_unavailable: { status: 503, title: "Rate limiter unavailable" },
} as const satisfies Record<string, { status: number; title: string }>;

export type ErrorCode = keyof typeof ERROR_CODES;

export type FieldError = { path: string; message: string };

export type AppErrorOptions = {
  /** Field-level problems, rendered as the `errors` list (validation). */
  errors?: FieldError[];
  /** Extra response headers, e.g. `Allow` or `Retry-After`. */
  headers?: Record<string, string>;
  /** RFC 9457 extension members added to the problem body, e.g. failing health checks. */
  extensions?: Record<string, unknown>;
  cause?: unknown;
};

export class AppError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly title: string;
  readonly errors?: FieldError[];
  readonly headers: Record<string, string>;
  readonly extensions: Record<string, unknown>;

  constructor(code: ErrorCode, detail: string, options: AppErrorOptions = {}) {
    super(detail, { cause: options.cause });
    this.name = "AppError";
    this.code = code;
    this.status = ERROR_CODES[code].status;
    this.title = ERROR_CODES[code].title;
    this.errors = options.errors;
    this.headers = options.headers ?? {};
    this.extensions = options.extensions ?? {};
  }

  get detail(): string {
    return this.message;
  }
}
