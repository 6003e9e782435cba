import { AppError } from "../../platform/errors";
import { passwordProblem } from "./passwords";

/** 400 naming the field when a new password breaks the policy (passwords.ts). */
export function requireAcceptablePassword(password: string, path: string): void {
  const problem = passwordProblem(password);
  if (problem) {
    throw new AppError("validation_failed", `The password ${problem}.`, { errors: [{ path, message: problem }] });
  }
}
