/**
 * files' face: what other modules may use of it, and the only file they import. Its config
 * keys, the storage an account uses (plans' `/v1/me/limits`), what a deleted org takes along
 * (identity's deletion), and attachments: a module attaches a file to its resource and says, by a
 * reader wired in the composition root, who else may read it.
 */

export { deleteAccountFileRows, purgeAccountFiles } from "./account-cleanup";
export { attachFile, type FileReader, fileReadersPort } from "./attachments";
export { filesConfig } from "./config";
export { storageUsed } from "./quota";
