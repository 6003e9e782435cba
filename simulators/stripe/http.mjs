// @ts-check
// HTTP plumbing shared by the API, the control API and the pages: bodies, JSON replies, routes.

/** @import { IncomingMessage } from "node:http" */
/** @import { Obj, SimulatedStripe } from "./state.mjs" */

/** @typedef {{ status: number, body: string, headers?: Record<string, string> }} Reply */
/**
 * A route: method, path (its groups are the ids), handler, and the expansions it implements
 * (the simulator refuses others, so a test relying on one finds out).
 * @typedef {(stripe: SimulatedStripe, params: Obj, ...ids: string[]) => unknown} Handler
 * @typedef {[method: string, path: RegExp, handler: Handler, expandable?: string[]]} Route
 */

export async function readBody(/** @type {IncomingMessage} */ request) {
  const chunks = [];
  for await (const chunk of request) chunks.push(chunk);
  return Buffer.concat(chunks).toString("utf8");
}

/** @returns {Reply} */
export function json(
  /** @type {number} */ status,
  /** @type {unknown} */ value,
  /** @type {Record<string, string>} */ headers = {},
) {
  return { status, body: JSON.stringify(value, null, 2), headers: { "content-type": "application/json", ...headers } };
}

/**
 * @param {Route[]} routes @param {string} method @param {string} path
 * @returns {{ handler: Handler, ids: string[], expandable?: string[] } | undefined}
 */
export function matchRoute(routes, method, path) {
  for (const [routeMethod, pattern, handler, expandable] of routes) {
    const match = routeMethod === method ? pattern.exec(path) : null;
    if (match) return { handler, ids: match.slice(1).map((id) => decodeURIComponent(id ?? "")), expandable };
  }
  return undefined;
}
