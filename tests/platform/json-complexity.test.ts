import { describe, expect, it } from "vitest";
import { MAX_JSON_DEPTH, MAX_JSON_VALUES } from "../../src/middleware/body-limits";
import { fund, scenario } from "../helpers/ai";
import { api } from "../helpers/client";
import { as, platformAdmin } from "../helpers/identity";

/**
 * Hostile nesting is refused before any handler, by an iterative scan of the body before it is
 * parsed: 10 000 levels would overflow a recursive parser, serializer or validator further on,
 * and used to be blamed on the provider (503, a circuit failure). Now: a 400 naming the limit,
 * in the route group's dialect, and nothing reaches an upstream.
 */

type Doc = { paths: Record<string, Record<string, { requestBody?: { content?: Record<string, unknown> } }>> };

const nested = (depth: number, leaf = "{}") => `${'{"a":'.repeat(depth)}${leaf}${"}".repeat(depth)}`;
const fillPath = (path: string) =>
  path.replace(/\{(\w+)\}/g, (_, name: string) => `${name.slice(0, 3)}_01JD0000000000000000000000`);

describe("JSON bodies nested 10 000 deep", () => {
  it("are refused with a 400 naming the limit on every JSON route, never a 5xx", async () => {
    const admin = await platformAdmin();
    const doc = (await api<Doc>("/openapi.json")).body;
    const targets = Object.entries(doc.paths).flatMap(([path, methods]) =>
      Object.entries(methods)
        .filter(([, operation]) => operation.requestBody?.content?.["application/json"])
        .map(([method]) => ({ method: method.toUpperCase(), path: fillPath(path) })),
    );
    expect(targets.length).toBeGreaterThan(30);
    for (const target of targets) {
      const response = await api(target.path, {
        method: target.method,
        headers: { ...as(admin), "content-type": "application/json" },
        body: nested(10_000),
      });
      // A platform admin passes every route's authorization: each one reads the body, and refuses it.
      const where = `${target.method} ${target.path}: ${response.text.slice(0, 200)}`;
      expect(response.status, where).toBe(400);
      const body = response.body as { code?: string; error?: { code?: string; message?: string } };
      expect(body.code ?? body.error?.code, where).toBe("json_too_complex");
      expect(JSON.stringify(body), where).toContain(`deeper than ${MAX_JSON_DEPTH} levels`);
    }
  });

  it("in tool parameters and response schemas: a 400 in OpenAI's shape, and the provider never hears of it", async () => {
    const admin = await platformAdmin();
    await fund(admin.user.id, 1_000_000);
    const { marker, requests } = await scenario("openai");
    const message = `{"role":"user","content":"hi ${marker}"}`;
    const tool = `{"type":"function","function":{"name":"f","parameters":${nested(10_000)}}}`;
    const schema = `{"type":"json_schema","json_schema":{"name":"s","schema":${nested(10_000)}}}`;
    for (const body of [
      `{"model":"gpt-4o-mini","messages":[${message}],"tools":[${tool}]}`,
      `{"model":"gpt-4o-mini","messages":[${message}],"response_format":${schema}}`,
    ]) {
      const response = await api("/v1/chat/completions", {
        method: "POST",
        headers: { ...as(admin), "content-type": "application/json" },
        body,
      });
      expect(response.status).toBe(400);
      expect(response.body).toMatchObject({
        error: { code: "json_too_complex", type: "invalid_request_error", message: expect.stringContaining("64") },
      });
    }
    expect(await requests()).toHaveLength(0);
  });

  it("inside a tool call's arguments (JSON in a string, parsed for Anthropic): a 400, and Claude never hears of it", async () => {
    const admin = await platformAdmin();
    await fund(admin.user.id, 1_000_000);
    const { marker, requests } = await scenario("anthropic");
    const call = { id: "call_1", type: "function", function: { name: "f", arguments: nested(100_000) } };
    const response = await api("/v1/chat/completions", {
      headers: as(admin),
      json: {
        model: "claude-3-5-haiku",
        messages: [
          { role: "user", content: `hi ${marker}` },
          { role: "assistant", content: null, tool_calls: [call] },
          { role: "tool", tool_call_id: "call_1", content: "42" },
        ],
      },
    });
    expect(response.status).toBe(400);
    expect(response.body).toMatchObject({
      error: { code: "validation_failed", param: "body.messages.1.tool_calls.0.function.arguments" },
    });
    expect(await requests()).toHaveLength(0);
  });

  it("accepts nesting up to the limit", async () => {
    const admin = await platformAdmin();
    await fund(admin.user.id, 1_000_000);
    // The body itself and tools[0].function take 4 levels of the 64.
    const parameters = nested(MAX_JSON_DEPTH - 5, '{"type":"object"}');
    const response = await api("/v1/chat/completions", {
      method: "POST",
      headers: { ...as(admin), "content-type": "application/json" },
      body: `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}],"tools":[{"type":"function","function":{"name":"f","parameters":${parameters}}}]}`,
    });
    expect(response.status, response.text).toBe(200);
  });

  it("refuses more values than the limit, flat as well", async () => {
    const admin = await platformAdmin();
    const response = await api("/v1/translate", {
      method: "POST",
      headers: { ...as(admin), "content-type": "application/json" },
      body: `{"q":[${'"a",'.repeat(MAX_JSON_VALUES)}"a"],"target":"de"}`,
    });
    expect(response.status).toBe(400);
    expect(response.body).toMatchObject({ code: "json_too_complex", detail: expect.stringContaining("values") });
  });
});
