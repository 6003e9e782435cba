// @ts-check
// Small helpers every resource uses: Stripe-style ids, Unix time in seconds, sums of amounts.
import { randomBytes } from "node:crypto";

const ALPHANUMERIC = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/** A random Stripe-style id: the prefix, then 24 alphanumerics. */
export function newId(/** @type {string} */ prefix) {
  return prefix + Array.from(randomBytes(24), (byte) => ALPHANUMERIC[byte % ALPHANUMERIC.length]).join("");
}

export function now() {
  return Math.floor(Date.now() / 1000);
}

/** The UTC date (YYYY-MM-DD) of a Unix time in seconds. */
export const day = (/** @type {number} */ seconds) => new Date(seconds * 1000).toISOString().slice(0, 10);

export const sum = (/** @type {number[]} */ amounts) => amounts.reduce((total, amount) => total + amount, 0);
