import { describe, expect, inject, it } from "vitest";

/**
 * Static assets are answered before the Worker runs (its middleware never sees them), so they
 * carry the API's security headers through `public/_headers`; the /docs page that loads them
 * keeps its own CSP, from the Worker.
 */
const url = inject("workerUrl");

const SECURITY_HEADERS = {
  "strict-transport-security": "max-age=31536000; includeSubDomains",
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
  "referrer-policy": "no-referrer",
};

async function headersOf(path: string) {
  const response = await fetch(`${url}${path}`);
  await response.arrayBuffer();
  return response;
}

describe("static assets", () => {
  for (const path of [
    "/docs-init.js",
    "/vendor/swagger-ui/swagger-ui-bundle.js",
    "/vendor/swagger-ui/swagger-ui.css",
  ]) {
    it(`${path} carries the API's security headers and a CSP that allows nothing`, async () => {
      const response = await headersOf(path);
      expect(response.status).toBe(200);
      for (const [name, value] of Object.entries(SECURITY_HEADERS)) expect(response.headers.get(name)).toBe(value);
      expect(response.headers.get("content-security-policy")).toBe("default-src 'none'; frame-ancestors 'none'");
    });
  }

  it("never serves the headers file itself", async () => {
    expect((await headersOf("/_headers")).status).toBe(404);
  });

  it("the docs page loads them under its own CSP, which allows its own scripts and styles only", async () => {
    const response = await headersOf("/docs");
    expect(response.status).toBe(200);
    const csp = response.headers.get("content-security-policy") ?? "";
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("default-src 'none'");
    expect(csp).not.toMatch(/unsafe-eval|https?:/);
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) expect(response.headers.get(name)).toBe(value);
  });

  it("the Worker's own answers keep their headers behind the assets", async () => {
    const response = await headersOf("/health");
    expect(response.status).toBe(200);
    expect(response.headers.get("content-security-policy")).toBe("default-src 'none'; frame-ancestors 'none'");
    expect(response.headers.get("x-request-id")).toBeTruthy();
  });
});
