import { loadConfig } from "./middleware/config";
import { cors } from "./middleware/cors";
import { ioCount } from "./middleware/io-count";
import { requestId } from "./middleware/request-id";
import { requestLog } from "./middleware/request-log";
import { securityHeaders } from "./middleware/security-headers";
import { serverTiming } from "./middleware/server-timing";
import { modules, wireModules } from "./modules";
import { mountApiDocs } from "./platform/api-docs";
import { handleError, notFoundOrMethodNotAllowed } from "./platform/error-handler";
import { createRouter } from "./platform/openapi";
import { useErrorDialects } from "./platform/problem";

/**
 * The Hono app: the middleware chain, every module's router (from the composition root), the
 * OpenAPI document. Order matters: the request id comes first so every answer carries it; the
 * log line and the security headers wrap everything, including answers refused for bad
 * configuration. I/O counting (development and tests) comes right after the configuration,
 * which says the environment, and before anything that reads a binding.
 */
export function createApp() {
  wireModules();
  useErrorDialects(modules.flatMap((module) => (module.errorDialect ? [module.errorDialect] : [])));
  const app = createRouter();
  app.use(requestId, requestLog, securityHeaders, loadConfig, ioCount, cors, serverTiming);
  for (const module of modules) if (module.router) app.route("/", module.router);
  mountApiDocs(app);

  app.onError(handleError);
  app.notFound(notFoundOrMethodNotAllowed(() => app.routes));
  return app;
}
