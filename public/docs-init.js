// Starts Swagger UI on /docs against this Worker's own OpenAPI document. Served as a static
// asset so the page's Content-Security-Policy needs no inline script.
window.ui = SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  tryItOutEnabled: true,
  persistAuthorization: false,
});
