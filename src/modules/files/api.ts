/**
 * files' face: what other modules may use of it, and the only file they import. Its config
 * keys, the storage an account uses (plans' `/v1/me/limits`), and what a deleted org takes
 * along (identity's deletion), both through the composition root.
 */
export { deleteAccountFileRows, purgeAccountFiles } from "./account-cleanup";
export { filesConfig } from "./config";
export { storageUsed } from "./quota";
