/** email's face: what other modules may use of it, and the only file they import. */

export { emailConfig } from "./config";
export { sendEmail } from "./service";
