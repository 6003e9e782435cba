import { z } from "@hono/zod-openapi";
import { describe, expect, it } from "vitest";
import { jsonBody, MAX_FORM_BODY_BYTES } from "../../src/middleware/body-limits";
import { defineRoute } from "../../src/platform/openapi";
import { testApp } from "../helpers/test-app";

/**
 * How bodies are read: a multipart body is held in memory whole, so each multipart route must
 * declare a limit of its own, never above MAX_FORM_BODY_BYTES; a JSON body is read once, its
 * text left where Hono's own readers find it (a Hono release that changes that breaks here).
 */

const formRoute = (maxBodyBytes?: number) =>
  defineRoute(
    {
      method: "post",
      path: "/test/form",
      request: { body: { content: { "multipart/form-data": { schema: z.object({ name: z.string() }) } } } },
      responses: { 200: { description: "ok" } },
    },
    maxBodyBytes === undefined ? {} : { maxBodyBytes },
  );

describe("multipart routes", () => {
  it("must declare their own body limit", () => {
    expect(() => formRoute()).toThrow("/test/form: a multipart body needs its own maxBodyBytes");
  });

  it("may not declare one above what can be held in memory", () => {
    expect(() => formRoute(MAX_FORM_BODY_BYTES + 1)).toThrow("at or below");
    expect(() => formRoute(25 * 1024 * 1024)).not.toThrow();
  });
});

describe("JSON bodies", () => {
  it("are read once: Hono's own readers find the text the guard read", async () => {
    const { app, call } = testApp();
    app.post("/test/json-twice", jsonBody(), async (c) =>
      c.json({ json: await c.req.json(), text: await c.req.text() }),
    );
    const response = await call("/test/json-twice", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: '{"a":1}',
    });
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ json: { a: 1 }, text: '{"a":1}' });
  });
});
