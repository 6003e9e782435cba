/** email's face: what other modules may use of it, and the only file they import. */
export { sendEmail } from "./service";
