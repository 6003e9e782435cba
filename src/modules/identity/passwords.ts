import commonPasswordList from "./common-passwords.txt";

/**
 * Passwords (NIST SP 800-63B): 8 to 128 characters, no composition rules, refused when on
 * the shipped list of common passwords (the 10 000 most common of 8 characters or more from
 * the SecLists top-million list, lower-cased: shorter ones already fail the length rule).
 *
 * Hashes are PBKDF2-SHA256 through WebCrypto, a random 16-byte salt, in a self-describing
 * format `pbkdf2-sha256$<iterations>$<salt>$<hash>` so the cost can rise later: a login
 * whose hash used fewer iterations than PBKDF2_ITERATIONS is re-hashed.
 */

/** Production Workers refuse more than 100 000 iterations; local workerd does not (tested). */
export const PBKDF2_ITERATIONS = 100_000;
const PASSWORD_MIN_LENGTH = 8;
export const PASSWORD_MAX_LENGTH = 128;
const SALT_BYTES = 16;
const HASH_BITS = 256;
const SCHEME = "pbkdf2-sha256";

let commonPasswords: Set<string> | undefined;

function isCommonPassword(password: string): boolean {
  commonPasswords ??= new Set(commonPasswordList.split("\n").filter(Boolean));
  return commonPasswords.has(password.toLowerCase());
}

/** Why a new password is refused, or null when it is acceptable. */
export function passwordProblem(password: string): string | null {
  const length = [...password].length;
  if (length < PASSWORD_MIN_LENGTH) return `must be at least ${PASSWORD_MIN_LENGTH} characters`;
  if (length > PASSWORD_MAX_LENGTH) return `must be at most ${PASSWORD_MAX_LENGTH} characters`;
  if (isCommonPassword(password)) return "is too common: choose one that is not on lists of leaked passwords";
  return null;
}

const toBase64 = (bytes: Uint8Array) => btoa(String.fromCharCode(...bytes));
const fromBase64 = (text: string) => Uint8Array.from(atob(text), (char) => char.charCodeAt(0));

async function derive(password: string, salt: Uint8Array, iterations: number): Promise<Uint8Array> {
  const key = await crypto.subtle.importKey(
    "raw",
    new TextEncoder().encode(password.normalize("NFKC")),
    "PBKDF2",
    false,
    ["deriveBits"],
  );
  const bits = await crypto.subtle.deriveBits({ name: "PBKDF2", hash: "SHA-256", salt, iterations }, key, HASH_BITS);
  return new Uint8Array(bits);
}

export async function hashPassword(password: string, iterations: number = PBKDF2_ITERATIONS): Promise<string> {
  const salt = crypto.getRandomValues(new Uint8Array(SALT_BYTES));
  const hash = await derive(password, salt, iterations);
  return `${SCHEME}$${iterations}$${toBase64(salt)}$${toBase64(hash)}`;
}

function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let difference = 0;
  for (let i = 0; i < a.length; i++) difference |= (a[i] as number) ^ (b[i] as number);
  return difference === 0;
}

type PasswordCheck = { valid: boolean; needsRehash: boolean };

export async function verifyPassword(password: string, stored: string): Promise<PasswordCheck> {
  const [scheme, iterationsText, saltText, hashText] = stored.split("$");
  const iterations = Number(iterationsText);
  if (scheme !== SCHEME || !Number.isInteger(iterations) || !saltText || !hashText) {
    return { valid: false, needsRehash: false };
  }
  const actual = await derive(password, fromBase64(saltText), iterations);
  const valid = constantTimeEqual(actual, fromBase64(hashText));
  return { valid, needsRehash: valid && iterations < PBKDF2_ITERATIONS };
}

/**
 * A hash of a random secret nobody kept: checked when the email is unknown, so that path
 * costs the same one derivation as a wrong password and timing reveals nothing.
 */
const DECOY_HASH = "pbkdf2-sha256$100000$ivxe3qb4QYQdRrO3P8TR7w==$SmKfE6A7wU9PY/HZ3uGkO9uHQ+Qi1j1R7LkBkG43MjE=";

export async function spendOneDerivation(password: string): Promise<void> {
  await verifyPassword(password, DECOY_HASH);
}
