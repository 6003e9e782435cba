import { loadConfig } from "./middleware/config";
import { cors } from "./middleware/cors";
import { requestId } from "./middleware/request-id";
import { requestLog } from "./middleware/request-log";
import { securityHeaders } from "./middleware/security-headers";
import { serverTiming } from "./middleware/server-timing";
import { aiRouter } from "./modules/ai";
import { conversationsRouter } from "./modules/ai/conversations";
import { presetsRouter } from "./modules/ai/presets";
import { billingRouter } from "./modules/billing";
import { emailRouter } from "./modules/email";
import { healthRouter } from "./modules/health";
import { identityRouter } from "./modules/identity";
import { plansRouter } from "./modules/plans";
import { requestLimitsOf } from "./modules/plans/request-limits";
import { translateRouter } from "./modules/translate";
import { mountApiDocs } from "./platform/api-docs";
import { handleError, notFoundOrMethodNotAllowed } from "./platform/error-handler";
import { createRouter } from "./platform/openapi";
import { useLimitPolicy } from "./platform/rate-limit/middleware";

/**
 * The Hono app: the middleware chain, every module's router, the OpenAPI document.
 * Order matters: the request id comes first so every answer carries it; the log line and
 * the security headers wrap everything, including answers refused for bad configuration.
 */
export function createApp() {
  useLimitPolicy(requestLimitsOf);
  const app = createRouter();
  app.use(requestId, requestLog, securityHeaders, loadConfig, cors, serverTiming);

  app.route("/", healthRouter);
  app.route("/", identityRouter);
  app.route("/", emailRouter);
  app.route("/", plansRouter);
  app.route("/", billingRouter);
  app.route("/", aiRouter);
  app.route("/", presetsRouter);
  app.route("/", conversationsRouter);
  app.route("/", translateRouter);
  mountApiDocs(app);

  app.onError(handleError);
  app.notFound(notFoundOrMethodNotAllowed(() => app.routes));
  return app;
}
