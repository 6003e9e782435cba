import { SELF } from "cloudflare:test";

/** Calls the Worker as a client would, through its real fetch handler. */

export type ApiResponse<T = unknown> = {
  status: number;
  headers: Headers;
  body: T;
  text: string;
};

export type ApiRequest = {
  method?: string;
  json?: unknown;
  body?: BodyInit;
  headers?: Record<string, string>;
};

export const BASE_URL = "https://stratus.test";

/**
 * A random client address (198.18.0.0/15, the benchmarking range). Anonymous requests are
 * rate limited per IP, so each call comes from its own address unless a test names one.
 */
export function randomClientIp(): string {
  const [a = 0, b = 0, c = 0] = crypto.getRandomValues(new Uint8Array(3));
  return `198.${18 + (a & 1)}.${b}.${c}`;
}

export function withClientIp(init: HeadersInit | undefined): Headers {
  const headers = new Headers(init);
  if (!headers.has("cf-connecting-ip")) headers.set("cf-connecting-ip", randomClientIp());
  return headers;
}

export async function api<T = Record<string, unknown>>(
  path: string,
  request: ApiRequest = {},
): Promise<ApiResponse<T>> {
  const headers = withClientIp(request.headers);
  let body = request.body;
  if (request.json !== undefined) {
    body = JSON.stringify(request.json);
    if (!headers.has("content-type")) headers.set("content-type", "application/json");
  }
  const response = await SELF.fetch(`${BASE_URL}${path}`, {
    method: request.method ?? (body === undefined ? "GET" : "POST"),
    headers,
    body,
  });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    // Not JSON: the body stays text.
  }
  return { status: response.status, headers: response.headers, body: parsed as T, text };
}

/** Asserts the RFC 9457 shape every error answer shares, and returns the problem. */
export function expectProblem(response: ApiResponse, status: number, code: string) {
  const problem = response.body as Record<string, unknown>;
  if (response.status !== status || problem?.code !== code) {
    throw new Error(`expected ${status} ${code}, got ${response.status}: ${response.text}`);
  }
  if (!response.headers.get("content-type")?.startsWith("application/problem+json")) {
    throw new Error(`expected problem+json, got ${response.headers.get("content-type")}`);
  }
  for (const field of ["type", "title", "status", "detail", "code", "requestId"]) {
    if (!(field in problem)) throw new Error(`problem lacks ${field}: ${response.text}`);
  }
  if (problem.requestId !== response.headers.get("x-request-id")) {
    throw new Error("problem.requestId differs from the X-Request-Id header");
  }
  return problem;
}
