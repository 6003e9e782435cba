// @ts-check
// Injected failures and hostile modes (POST /__sim/fail_next), played on the next /v1 requests.
import { invalid } from "./errors.mjs";
import { json } from "./http.mjs";
import { intParam, stringParam } from "./params.mjs";

/** @import { IncomingHttpHeaders } from "node:http" */
/** @import { Obj, SimulatedStripe } from "./state.mjs" */
/** @import { Reply } from "./http.mjs" */

/**
 * @typedef {{ method?: string, path_prefix: string, status: number, times: number,
 *   hostile?: "echo_headers" | "garbage" }} FailureRule a failure to inject; `hostile` plays an
 *   upstream that cannot be trusted: an error repeating the request's headers (the key included),
 *   or a 200 that is not JSON
 */

/** POST /__sim/fail_next { method?, path_prefix, status = 500, times = 1, hostile? } */
export function addFailureRule(/** @type {SimulatedStripe} */ stripe, /** @type {Obj} */ body) {
  const pathPrefix = stringParam(body.path_prefix, "path_prefix", true) ?? "";
  if (!pathPrefix.startsWith("/v1/")) throw invalid("path_prefix must start with /v1/.", "path_prefix");
  const status = intParam(body.status, "status", 500, 400);
  if (status > 599) throw invalid("status must be between 400 and 599.", "status");
  const method = stringParam(body.method, "method")?.toUpperCase();
  const hostile = stringParam(body.hostile, "hostile");
  if (hostile !== undefined && hostile !== "echo_headers" && hostile !== "garbage") {
    throw invalid("hostile must be echo_headers or garbage.", "hostile");
  }
  /** @type {FailureRule} */
  const rule = {
    ...(method ? { method } : {}),
    path_prefix: pathPrefix,
    status,
    times: intParam(body.times, "times", 1),
    ...(hostile ? { hostile } : {}),
  };
  stripe.failureRules.push(rule);
  return rule;
}

/**
 * The reply of the failure injected for this API request, if a rule matches it.
 * @param {SimulatedStripe} stripe @param {string} method @param {string} path
 * @param {IncomingHttpHeaders} headers the request's @param {Record<string, string>} requestId
 * @returns {Reply | undefined}
 */
export function injectedFailure(stripe, method, path, headers, requestId) {
  const failure = takeFailure(stripe, method, path);
  if (failure?.hostile === "garbage") {
    return { status: 200, body: "<html>upstream gone wrong</html>", headers: { "content-type": "application/json" } };
  }
  if (failure) {
    const message =
      failure.hostile === "echo_headers"
        ? `Simulated failure; received headers: ${JSON.stringify(headers)}`
        : "Simulated failure (injected with /__sim/fail_next).";
    const type = failure.status < 500 ? "invalid_request_error" : "api_error";
    return json(failure.status, { error: { type, message } }, requestId);
  }
  return undefined;
}

/** The first rule of /__sim/fail_next matching this request, counted down. */
function takeFailure(/** @type {SimulatedStripe} */ stripe, /** @type {string} */ method, /** @type {string} */ path) {
  const rule = stripe.failureRules.find(
    (candidate) => (!candidate.method || candidate.method === method) && path.startsWith(candidate.path_prefix),
  );
  if (!rule) return undefined;
  rule.times -= 1;
  if (rule.times === 0) stripe.failureRules.splice(stripe.failureRules.indexOf(rule), 1);
  return rule;
}
