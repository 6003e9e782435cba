import { describe, expect, it } from "vitest";
import { createApp } from "../../src/app";
import { api } from "../helpers/client";

type OpenApi = {
  openapi: string;
  info: { title: string; version: string };
  paths: Record<
    string,
    Record<string, { responses: Record<string, { content?: Record<string, { schema: unknown }> }> }>
  >;
  components: { schemas: Record<string, unknown> };
};

describe("GET /openapi.json", () => {
  it("is an OpenAPI 3.1 document listing every route with its error responses", async () => {
    const response = await api<OpenApi>("/openapi.json");
    expect(response.status).toBe(200);
    const doc = response.body;
    expect(doc.openapi).toBe("3.1.0");
    expect(doc.info.title).toBe("Stratus API");
    for (const path of ["/docs", "/health", "/health/ready", "/openapi.json"]) expect(doc.paths[path]).toBeDefined();
    const ready = doc.paths["/health/ready"]?.get?.responses ?? {};
    expect(Object.keys(ready).sort()).toEqual(["200", "500", "503"]);
    expect(JSON.stringify(ready["503"])).toContain("#/components/schemas/Problem");
    expect(ready["503"]?.content?.["application/problem+json"]).toBeDefined();
    expect(doc.components.schemas.Problem).toBeDefined();
  });

  describe("OpenAPI coverage", () => {
    it("documents every route the app serves, with its method", async () => {
      const doc = (await api<OpenApi>("/openapi.json")).body;
      const served = createApp()
        .routes.filter((route) => route.method !== "ALL")
        .map((route) => `${route.method.toLowerCase()} ${route.path.replace(/:(\w+)/g, "{$1}")}`);
      const documented = Object.entries(doc.paths).flatMap(([path, methods]) =>
        Object.keys(methods).map((method) => `${method} ${path}`),
      );
      expect(served.length).toBeGreaterThan(5);
      for (const route of served) expect(documented).toContain(route);
    });

    it("documents the bearer scheme and a 401 on authenticated routes", async () => {
      const doc = (await api<OpenApi & { components: { securitySchemes: Record<string, unknown> } }>("/openapi.json"))
        .body;
      expect(doc.components.securitySchemes.bearerAuth).toMatchObject({ type: "http", scheme: "bearer" });
      expect(Object.keys(doc.paths["/v1/me"]?.get?.responses ?? {})).toContain("401");
    });
  });

  describe("rate limits in the document", () => {
    it("show the 429 with its headers on limited routes, and not on the webhook or the probes", async () => {
      const doc = (await api<OpenApi>("/openapi.json")).body;
      const responses = (path: string, method: string) =>
        (doc.paths[path]?.[method]?.responses ?? {}) as Record<string, { headers?: Record<string, unknown> }>;
      const me = responses("/v1/me", "get");
      expect(Object.keys(me["429"]?.headers ?? {}).sort()).toEqual([
        "RateLimit-Limit",
        "RateLimit-Remaining",
        "RateLimit-Reset",
        "Retry-After",
      ]);
      expect(Object.keys(me["200"]?.headers ?? {})).toContain("RateLimit-Remaining");
      expect(Object.keys(responses("/v1/auth/login", "post"))).toContain("503");
      expect(Object.keys(responses("/v1/billing/webhook", "post"))).not.toContain("429");
      expect(Object.keys(responses("/health", "get"))).not.toContain("429");
    });
  });
});

describe("GET /docs", () => {
  it("serves the reference page with its script from this Worker, never a CDN", async () => {
    const response = await api("/docs");
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toContain("text/html");
    expect(response.text).toContain('src="/vendor/swagger-ui/swagger-ui-bundle.js"');
    expect(response.text).toContain('src="/docs-init.js"');
    expect(response.text).not.toMatch(/(src|href)="https?:/);
    const csp = response.headers.get("content-security-policy") ?? "";
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain("unsafe-eval");
  });
});
