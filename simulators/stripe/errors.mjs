// @ts-check
// Stripe's errors, in its shape: { error: { type, message, code?, param? } }.

/** An error Stripe would answer, in its shape: { error: { type, message, code?, param? } }. */
export class StripeError extends Error {
  /** @param {number} status @param {string} message @param {{ type?: string, code?: string, param?: string }} [details] */
  constructor(status, message, { type = "invalid_request_error", code, param } = {}) {
    super(message);
    this.status = status;
    this.body = { error: { type, message, ...(code ? { code } : {}), ...(param ? { param } : {}) } };
  }
}

/** 400 for a bad parameter. */
export const invalid = (/** @type {string} */ message, /** @type {string | undefined} */ param) =>
  new StripeError(400, message, { param });

/** "No such …": 404 for the resource in the path, 400 when the id came in a parameter. */
export const noSuch = (/** @type {string} */ kind, /** @type {string} */ id, /** @type {string | undefined} */ param) =>
  new StripeError(param ? 400 : 404, `No such ${kind}: '${id}'`, { code: "resource_missing", param });
