/** translate's face: what other modules and the composition root may use of it. */

export { translateConfig } from "./config";
export { USAGE_SINK, usageSink } from "./stats";
