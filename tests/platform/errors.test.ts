import { z } from "@hono/zod-openapi";
import fc from "fast-check";
import { HTTPException } from "hono/http-exception";
import { afterEach, describe, expect, it, vi } from "vitest";
import { defineRoute } from "../../src/platform/openapi";
import { api, expectProblem } from "../helpers/client";
import { testApp } from "../helpers/test-app";

const ItemSchema = z.object({ name: z.string().min(1).max(50), count: z.number().int().min(0).max(10) }).strict();

const echo = defineRoute({
  method: "post",
  path: "/test/echo",
  request: { body: { content: { "application/json": { schema: ItemSchema } } } },
  responses: { 200: { description: "echo", content: { "application/json": { schema: ItemSchema } } } },
});
const bigEcho = defineRoute(
  {
    method: "post",
    path: "/test/big",
    request: { body: { content: { "application/json": { schema: z.object({ blob: z.string() }).strict() } } } },
    responses: {
      200: { description: "size", content: { "application/json": { schema: z.object({ length: z.number() }) } } },
    },
  },
  { maxBodyBytes: 4 * 1024 * 1024 },
);

const { app, call } = testApp();
app.openapi(echo, (c) => c.json(c.req.valid("json"), 200));
app.openapi(bigEcho, (c) => c.json({ length: c.req.valid("json").blob.length }, 200));
const chatLike = defineRoute({
  method: "post",
  path: "/v1/chat/test-echo",
  request: { body: { content: { "application/json": { schema: ItemSchema } } } },
  responses: { 200: { description: "echo", content: { "application/json": { schema: ItemSchema } } } },
});
app.openapi(chatLike, (c) => c.json(c.req.valid("json"), 200));
app.get("/test/hono-401", () => {
  throw new HTTPException(401, { message: "no credentials" });
});
app.get("/test/boom", () => {
  throw new Error("SELECT password FROM users -- internal detail");
});
app.get("/test/client-left", (c) => {
  throw c.req.raw.signal.reason ?? new Error("the request was not aborted");
});

const postJson = (path: string, body: string, headers: Record<string, string> = {}) =>
  call(path, { method: "POST", body, headers: { "content-type": "application/json", ...headers } });

const asProblem = (response: Awaited<ReturnType<typeof call>>) => ({ ...response, body: response.body as unknown });

afterEach(() => vi.restoreAllMocks());

describe("JSON bodies", () => {
  it("accepts a valid body and answers with the platform headers", async () => {
    const response = await postJson("/test/echo", JSON.stringify({ name: "a", count: 2 }));
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ name: "a", count: 2 });
    expect(response.headers.get("x-request-id")).toMatch(/^req_[0-9A-Z]{26}$/);
    expect(response.headers.get("server-timing")).toMatch(
      /^limit;dur=\d+\.\d, handler;dur=\d+\.\d, d1;desc="\d+", do;desc="\d+"$/,
    );
    expect(response.headers.get("x-content-type-options")).toBe("nosniff");
    expect(response.headers.get("content-security-policy")).toContain("default-src 'none'");
  });

  it("refuses malformed JSON with 400 malformed_json", async () => {
    const response = await postJson("/test/echo", '{"name": "a",');
    expectProblem(asProblem(response), 400, "malformed_json");
  });

  it("refuses another content type with 415", async () => {
    const response = await call("/test/echo", {
      method: "POST",
      body: JSON.stringify({ name: "a", count: 1 }),
      headers: { "content-type": "text/plain" },
    });
    expectProblem(asProblem(response), 415, "unsupported_media_type");
    const missing = await call("/test/echo", { method: "POST", body: "{}" });
    expectProblem(asProblem(missing), 415, "unsupported_media_type");
  });

  it("refuses a body over 1 MiB with 413, declared or streamed", async () => {
    const huge = JSON.stringify({ name: "x".repeat(1024 * 1024), count: 1 });
    expectProblem(asProblem(await postJson("/test/echo", huge)), 413, "payload_too_large");

    const chunk = new TextEncoder().encode("x".repeat(64 * 1024));
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent++ < 20) controller.enqueue(chunk);
        else controller.close();
      },
    });
    const streamed = await call("/test/echo", {
      method: "POST",
      body: stream,
      headers: { "content-type": "application/json" },
      // @ts-expect-error: workerd's RequestInit knows duplex
      duplex: "half",
    });
    expectProblem(asProblem(streamed), 413, "payload_too_large");
  });

  it("lets a route raise its limit", async () => {
    const response = await postJson("/test/big", JSON.stringify({ blob: "y".repeat(2 * 1024 * 1024) }));
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ length: 2 * 1024 * 1024 });
  });

  it("answers a zod failure with validation_failed and an errors list", async () => {
    const response = await postJson("/test/echo", JSON.stringify({ name: "", count: 99, role: "admin" }));
    const problem = expectProblem(asProblem(response), 400, "validation_failed");
    const paths = (problem.errors as { path: string; message: string }[]).map((error) => error.path);
    expect(paths).toEqual(expect.arrayContaining(["body.name", "body.count"]));
    // Strict objects: an unknown key (a mass-assignment attempt) is refused.
    expect(JSON.stringify(problem.errors)).toContain("role");
  });

  it("never answers 500 to any JSON value", async () => {
    await fc.assert(
      fc.asyncProperty(fc.jsonValue(), async (value) => {
        const response = await postJson("/test/echo", JSON.stringify(value));
        expect([200, 400]).toContain(response.status);
      }),
      { numRuns: 60 },
    );
  });
});

describe("routing errors", () => {
  it("answers an unknown route with 404 not_found", async () => {
    expectProblem(await api("/no/such/route"), 404, "not_found");
  });

  it("answers a known path with the wrong method with 405 and Allow", async () => {
    const response = await api("/health", { method: "DELETE" });
    expectProblem(response, 405, "method_not_allowed");
    expect(response.headers.get("allow")).toBe("GET, HEAD");
    const post = await call("/test/echo", { method: "GET" });
    expectProblem(asProblem(post), 405, "method_not_allowed");
    expect(post.headers.get("allow")).toBe("POST");
  });

  it("renders the OpenAI-compatible routes' errors in OpenAI's shape", async () => {
    const response = await api("/v1/models/not-yet", { method: "GET" });
    expect(response.status).toBe(404);
    expect(response.headers.get("content-type")).toBe("application/json");
    expect(response.body).toEqual({
      error: { message: expect.any(String), type: "invalid_request_error", code: "not_found", param: null },
    });
    expect(response.headers.get("x-request-id")).toBeTruthy();
  });
});

describe("OpenAI-shaped errors", () => {
  it("renders body errors raised before the handler in OpenAI's shape", async () => {
    const wrongType = await call("/v1/chat/test-echo", {
      method: "POST",
      body: "{}",
      headers: { "content-type": "text/plain" },
    });
    expect(wrongType.status).toBe(415);
    expect(wrongType.body).toEqual({
      error: {
        message: expect.any(String),
        type: "invalid_request_error",
        code: "unsupported_media_type",
        param: null,
      },
    });
    const tooBig = await postJson(
      "/v1/chat/test-echo",
      JSON.stringify({ name: "x".repeat(2 * 1024 * 1024), count: 1 }),
    );
    expect(tooBig.status).toBe(413);
    expect((tooBig.body as { error: { code: string } }).error.code).toBe("payload_too_large");
    const invalid = await postJson("/v1/chat/test-echo", JSON.stringify({ name: "ok", count: 99 }));
    expect(invalid.status).toBe(400);
    expect((invalid.body as { error: { param: string } }).error.param).toBe("body.count");
  });
});

describe("Hono's own exceptions", () => {
  it("keep the meaning of their status", async () => {
    const response = await call("/test/hono-401");
    expectProblem(asProblem(response), 401, "unauthorized");
  });
});

describe("unexpected exceptions", () => {
  it("answers 500 with the request id and no internals, and logs the stack", async () => {
    const errors = vi.spyOn(console, "error").mockImplementation(() => {});
    const response = await call("/test/boom");
    const problem = expectProblem(asProblem(response), 500, "internal_error");
    expect(response.text).not.toContain("SELECT");
    expect(response.text).not.toContain("password");
    expect(problem.requestId).toMatch(/^req_/);
    const logged = errors.mock.calls
      .map((args) => String(args[0]))
      .find((line) => line.includes("unhandled exception"));
    expect(logged).toBeDefined();
    expect(JSON.parse(logged as string)).toMatchObject({ requestId: problem.requestId, stack: expect.any(String) });
  });

  it("takes work aborted because its client left for no fault of ours: 499, logged as information", async () => {
    const errors = vi.spyOn(console, "error").mockImplementation(() => {});
    const left = new AbortController();
    left.abort();
    const response = await call("/test/client-left", { signal: left.signal });
    expect(response.status).toBe(499);
    expect(errors.mock.calls.map((args) => String(args[0])).join("\n")).not.toContain("unhandled exception");
    // The same error while the client is still there is ours.
    expect((await call("/test/client-left")).status).toBe(500);
  });
});
