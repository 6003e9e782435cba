// @ts-check
// Request parameters as Stripe takes them (bracketed forms, typed values, metadata, expand) and paged lists.
import { invalid, noSuch } from "./errors.mjs";

/** @import { Obj } from "./state.mjs" */

const UNSAFE_KEYS = new Set(["__proto__", "constructor", "prototype"]);

/**
 * Parses Stripe's form encoding, which nests with brackets (`metadata[k]=v`,
 * `line_items[0][price]=p`, `expand[]=x`), into objects and arrays of strings.
 * @returns {Obj}
 */
export function parseForm(/** @type {string} */ text) {
  /** @type {Obj} */
  const root = {};
  for (const [key, value] of new URLSearchParams(text)) {
    const path = key.replace(/\]/g, "").split("[");
    if (path[0] && !path.some((segment) => UNSAFE_KEYS.has(segment))) assign(root, path, value);
  }
  return root;
}

/** Sets root[a][b]… = value, creating an array where the next key is an index or `[]`. */
function assign(/** @type {Obj} */ root, /** @type {string[]} */ path, /** @type {string} */ value) {
  /** @type {any} */
  let node = root;
  path.forEach((segment, i) => {
    const key = segment === "" && Array.isArray(node) ? node.length : segment;
    const next = path[i + 1];
    if (next === undefined) node[key] = value;
    else node = node[key] ??= next === "" || /^\d+$/.test(next) ? [] : {};
  });
}

/** @returns {string | undefined} */
export function stringParam(/** @type {unknown} */ value, /** @type {string} */ param, required = false) {
  if (value === undefined || value === "") {
    if (required) throw invalid(`Missing required param: ${param}.`, param);
    return undefined;
  }
  if (typeof value !== "string") throw invalid(`Invalid string: ${param}.`, param);
  return value;
}

export function intParam(
  /** @type {unknown} */ value,
  /** @type {string} */ param,
  /** @type {number} */ fallback,
  min = 1,
) {
  if (value === undefined || value === "") return fallback;
  const number = Number(value);
  if (!Number.isInteger(number) || number < min) throw invalid(`Invalid integer: ${param}.`, param);
  return number;
}

/** @returns {boolean | undefined} */
export function boolParam(/** @type {unknown} */ value, /** @type {string} */ param) {
  if (value === undefined) return undefined;
  if (value === true || value === "true") return true;
  if (value === false || value === "false") return false;
  throw invalid(`Invalid boolean: ${param}.`, param);
}

/** Metadata as Stripe takes it: string values; "" clears a key (or, for the whole object, all). */
export function metadataParam(/** @type {unknown} */ value, /** @type {string} */ param) {
  if (value === undefined || value === "") return /** @type {Record<string, string>} */ ({});
  if (typeof value !== "object" || value === null || Array.isArray(value))
    throw invalid(`Invalid hash: ${param}.`, param);
  for (const [key, item] of Object.entries(value)) {
    if (typeof item !== "string") throw invalid(`Invalid string: ${param}[${key}].`, `${param}[${key}]`);
  }
  return /** @type {Record<string, string>} */ (value);
}

/** Stripe's update semantics for metadata: keys merge, an empty value removes its key. */
export function mergeMetadata(/** @type {Record<string, string>} */ current, /** @type {unknown} */ update) {
  if (update === "") return {};
  const merged = { ...current, ...metadataParam(update, "metadata") };
  return Object.fromEntries(Object.entries(merged).filter(([, value]) => value !== ""));
}

/** Refuses the expansions the simulator does not implement, so a test relying on one finds out. */
export function expansions(/** @type {Obj} */ params, /** @type {string[]} */ supported = []) {
  for (const path of params.expand === undefined ? [] : Object.values(params.expand)) {
    if (!supported.includes(path)) throw invalid(`This property cannot be expanded (${path}).`, "expand");
  }
}

/**
 * One page of a newest-first list, with Stripe's cursors (limit, starting_after, ending_before).
 * @param {Obj[]} items newest first
 * @param {Obj} params
 * @param {string} url
 * @param {string} kind
 */
export function paginate(items, params, url, kind) {
  const limit = intParam(params.limit, "limit", 10);
  if (limit > 100) throw invalid("Invalid limit: must be at most 100.", "limit");
  if (params.starting_after && params.ending_before) {
    throw invalid("You may only specify one of these parameters: ending_before, starting_after.", "ending_before");
  }
  const indexOf = (/** @type {string} */ param) => {
    const index = items.findIndex((item) => item.id === params[param]);
    if (index < 0) throw noSuch(kind, params[param], param);
    return index;
  };
  if (params.ending_before) {
    const before = items.slice(0, indexOf("ending_before"));
    return list(before.slice(-limit), url, before.length > limit);
  }
  const rest = params.starting_after ? items.slice(indexOf("starting_after") + 1) : items;
  return list(rest.slice(0, limit), url, rest.length > limit);
}

export function list(/** @type {Obj[]} */ data, /** @type {string} */ url, hasMore = false) {
  return { object: "list", data, has_more: hasMore, url };
}
