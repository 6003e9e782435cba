import type { OpenAPIHono } from "@hono/zod-openapi";
import { z } from "@hono/zod-openapi";
import { version } from "../../package.json";
import type { AppEnv } from "./context";

/**
 * `/openapi.json` (OpenAPI 3.1, generated from the route contracts) and `/docs`, an API
 * reference that works offline: Swagger UI's files are served from the Worker's static
 * assets (`public/vendor`, copied from npm at install time), never from a CDN.
 */

const DOCS_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "frame-ancestors 'none'",
].join("; ");

const DOCS_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Stratus API reference</title>
<link rel="stylesheet" href="/vendor/swagger-ui/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="/vendor/swagger-ui/swagger-ui-bundle.js"></script>
<script src="/docs-init.js"></script>
</body>
</html>`;

export function mountApiDocs(app: OpenAPIHono<AppEnv>): void {
  // Generated once per isolate, on first request: the routes do not change while it lives.
  let document: ReturnType<typeof app.getOpenAPI31Document> | undefined;
  app.get("/openapi.json", (c) => {
    document ??= app.getOpenAPI31Document({
      openapi: "3.1.0",
      info: {
        title: "Stratus API",
        version,
        description:
          "Every non-2xx answer is application/problem+json (RFC 9457) with a stable `code` and the `requestId`.",
      },
    });
    return c.json(document);
  });
  app.get("/docs", (c) => {
    c.header("Content-Security-Policy", DOCS_CSP);
    return c.html(DOCS_HTML);
  });
  app.openAPIRegistry.registerComponent("securitySchemes", "bearerAuth", {
    type: "http",
    scheme: "bearer",
    description: "An access token (JWT) from /v1/auth/login, /v1/auth/register or /v1/auth/refresh.",
  });
  app.openAPIRegistry.registerPath({
    method: "get",
    path: "/openapi.json",
    tags: ["Docs"],
    summary: "This OpenAPI 3.1 document",
    responses: {
      200: { description: "The document", content: { "application/json": { schema: z.object({}).passthrough() } } },
    },
  });
  app.openAPIRegistry.registerPath({
    method: "get",
    path: "/docs",
    tags: ["Docs"],
    summary: "Interactive API reference (works offline)",
    responses: { 200: { description: "An HTML page", content: { "text/html": { schema: z.string() } } } },
  });
}
