import { createRoute, OpenAPIHono, type RouteConfig, z } from "@hono/zod-openapi";
import type { MiddlewareHandler } from "hono";
import { formBody, jsonBody } from "../middleware/body-limits";
import { limitRequests, type RouteClass } from "../middleware/rate-limit";
import type { AppEnv } from "./context";
import { AppError, ERROR_CODES, type ErrorCode } from "./errors";
import { IdempotencyKeyHeader, idempotency } from "./idempotency/middleware";
import type { Unreachable } from "./rate-limit/limiter";

/**
 * Route contracts: one source of truth for validation and the OpenAPI document. Modules
 * build routers with `createRouter()` and contracts with `defineRoute()`, which adds the
 * shared error responses, the JSON body guard and, on request, idempotency.
 */

const ProblemSchema = z
  .object({
    type: z.string().openapi({ example: "urn:stratus:problem:validation_failed" }),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    code: z.enum(Object.keys(ERROR_CODES) as [ErrorCode, ...ErrorCode[]]),
    requestId: z.string(),
    errors: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
  })
  .openapi("Problem", { description: "RFC 9457 problem details; extension members may follow." });

/** Where a zod issue was found, in the words a client uses. */
const TARGET_NAMES: Record<string, string> = {
  json: "body",
  query: "query",
  param: "path",
  header: "header",
  form: "body",
};

export function createRouter() {
  return new OpenAPIHono<AppEnv>({
    defaultHook: (result) => {
      if (result.success) return;
      const where = TARGET_NAMES[result.target] ?? result.target;
      throw new AppError("validation_failed", `The request ${where} is invalid.`, {
        errors: result.error.issues.map((issue) => ({
          path: [where, ...issue.path.map(String)].join("."),
          message: issue.message,
        })),
      });
    },
  });
}

const headerDoc = (description: string) => ({ description, schema: { type: "integer" as const } });

/** The headers of every limited answer (see `rate-limit/limiter.ts`). */
const RATE_LIMIT_HEADERS = {
  "RateLimit-Limit": headerDoc("Requests allowed in the binding window (per minute for request limits)."),
  "RateLimit-Remaining": headerDoc("Requests left in that window now."),
  "RateLimit-Reset": headerDoc("Seconds until that window is full again."),
};
const RETRY_AFTER_HEADER = { "Retry-After": headerDoc("Seconds to wait before retrying.") };

function problemResponses(codes: Iterable<ErrorCode>) {
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of codes) {
    const { status } = ERROR_CODES[code];
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  return Object.fromEntries(
    [...byStatus].map(([status, list]) => [
      status,
      {
        description: list.join(", "),
        content: { "application/problem+json": { schema: ProblemSchema } },
        ...(status === 429 ? { headers: { ...RATE_LIMIT_HEADERS, ...RETRY_AFTER_HEADER } } : {}),
        ...(status === 503 ? { headers: RETRY_AFTER_HEADER } : {}),
      },
    ]),
  );
}

export type RouteOptions = {
  /** Error codes the route can answer beyond those its inputs imply. */
  errors?: readonly ErrorCode[];
  /**
   * The body limit of this route: raises (or lowers) a JSON route's 1 MiB, and is required of
   * a multipart route (at most `MAX_FORM_BODY_BYTES`: its body is held in memory whole).
   */
  maxBodyBytes?: number;
  /**
   * Honour `Idempotency-Key` (routes that spend money or credits): `true` keeps keys in D1;
   * `"with_spend"` (the hot routes that spend an account's credits) claims each key with the
   * spend, in the account's wallet, so the route makes no D1 write before its first byte.
   */
  idempotent?: boolean | "with_spend";
  /**
   * The route's class for request limits (default `default`). `webhook` routes and `false`
   * (health probes) are not limited.
   */
  rateLimit?: RouteClass | false;
  /**
   * When the limiter cannot be reached: `auth` routes refuse (503) by default, others proceed.
   * Routes whose secret is a long random token (refresh, links) may proceed too.
   */
  whenLimiterDown?: Unreachable;
};

/** Adds the rate limit headers to the documented 2xx answers of a limited route. */
function withRateLimitHeaders(responses: RouteConfig["responses"]): RouteConfig["responses"] {
  return Object.fromEntries(
    Object.entries(responses).map(([status, response]) =>
      status.startsWith("2") && !("$ref" in response)
        ? [status, { ...response, headers: { ...RATE_LIMIT_HEADERS, ...response.headers } }]
        : [status, response],
    ),
  );
}

/** A multipart route's body limit: declared by the route, since its body is held in memory whole. */
function formLimitOf(path: string, maxBodyBytes: number | undefined): number {
  if (maxBodyBytes === undefined) throw new Error(`${path}: a multipart body needs its own maxBodyBytes`);
  return maxBodyBytes;
}

const asArray = (value: MiddlewareHandler | MiddlewareHandler[] | undefined) =>
  value === undefined ? [] : Array.isArray(value) ? value : [value];

export function defineRoute<P extends string, R extends Omit<RouteConfig, "path"> & { path: P }>(
  config: R,
  options: RouteOptions = {},
) {
  const request = config.request;
  const hasJsonBody = Boolean(request?.body?.content?.["application/json"]);
  const hasFormBody = Boolean(request?.body?.content?.["multipart/form-data"]);
  const codes = new Set<ErrorCode>([...(options.errors ?? []), "internal_error", "config_invalid"]);
  if (request?.params || request?.query || request?.headers || hasJsonBody || options.idempotent) {
    codes.add("validation_failed");
  }
  if (hasJsonBody) {
    for (const code of ["malformed_json", "json_too_complex", "payload_too_large", "unsupported_media_type"] as const) {
      codes.add(code);
    }
  }
  if (hasFormBody) {
    for (const code of ["validation_failed", "payload_too_large", "unsupported_media_type"] as const) codes.add(code);
  }
  if (options.idempotent) {
    codes.add("idempotency_key_in_use");
    codes.add("idempotency_key_reused");
  }
  const routeClass = options.rateLimit ?? "default";
  const limited = routeClass === false || routeClass === "webhook" ? undefined : routeClass;
  const whenDown = options.whenLimiterDown ?? (limited === "auth" ? "fail_closed" : "fail_open");
  if (limited) codes.add("rate_limited");
  if (limited && whenDown === "fail_closed") codes.add("limiter_unavailable");
  // The route's own middleware (authentication, scopes) and then its rate limit run first:
  // nothing reads the body of a request that will be refused anyway.
  const middleware = [
    ...asArray(config.middleware as MiddlewareHandler | MiddlewareHandler[] | undefined),
    ...(limited ? [limitRequests(limited, whenDown)] : []),
    ...(hasJsonBody ? [jsonBody(options.maxBodyBytes)] : []),
    ...(hasFormBody ? [formBody(formLimitOf(config.path, options.maxBodyBytes))] : []),
    ...(options.idempotent ? [idempotency(options.idempotent === "with_spend" ? "spend" : "d1")] : []),
  ];
  const headers = options.idempotent
    ? ((request?.headers as z.ZodObject | undefined)?.extend(IdempotencyKeyHeader.shape) ?? IdempotencyKeyHeader)
    : request?.headers;
  return createRoute({
    ...config,
    request: {
      ...request,
      ...((hasJsonBody || hasFormBody) && request?.body ? { body: { ...request.body, required: true } } : {}),
      ...(headers ? { headers } : {}),
    },
    middleware,
    responses: { ...problemResponses(codes), ...(limited ? withRateLimitHeaders(config.responses) : config.responses) },
  }) as R & { getRoutingPath(): string };
}

/** A JSON response for a route contract. */
export const jsonResponse = <T>(schema: T, description: string) => ({
  description,
  content: { "application/json": { schema } },
});

/** A JSON request body for a route contract (`request: { body: jsonRequestBody(schema) }`). */
export const jsonRequestBody = <T>(schema: T) => ({ content: { "application/json": { schema } } });
