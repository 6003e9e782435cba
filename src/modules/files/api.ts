/**
 * files' face: what other modules may use of it, and the only file they import. Its config
 * keys, and the storage an account uses (plans' `/v1/me/limits`, through the composition root).
 */
export { filesConfig } from "./config";
export { storageUsed } from "./quota";
