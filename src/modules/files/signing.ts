import type { Config } from "../../env";
import { base64url } from "../../platform/crypto";
import { AppError } from "../../platform/errors";

/**
 * Signatures of download links: HMAC-SHA-256 with the current `FILES_SIGNING_KEYS` entry,
 * named by its `kid` so links signed by an older key keep working until that key is removed.
 * A download link's signature binds the method, the file, the link, the expiry and the
 * disposition: it cannot be bent to another file, a later time or an inline rendering. An
 * upload URL's binds its session, size, type and expiry (sessions/signed.ts).
 */

export type LinkClaims = { fileId: string; linkId: string; expires: number; disposition: "attachment" | "inline" };

const encoder = new TextEncoder();
const imported = new Map<string, Promise<CryptoKey>>();

const keyOf = (secret: string) => {
  let key = imported.get(secret);
  if (!key) {
    key = crypto.subtle.importKey("raw", encoder.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, [
      "sign",
      "verify",
    ]);
    imported.set(secret, key);
  }
  return key;
};

const linkMessage = (claims: LinkClaims) =>
  `GET\n${claims.fileId}\n${claims.linkId}\n${claims.expires}\n${claims.disposition}`;

/**
 * The 32 bytes of a signature in base64url, or null. Only the canonical spelling: 43 characters
 * carry 258 bits, and `atob` ignores the last one's 2 spare bits, so without this check four
 * spellings of one signature would all verify (an altered link that still opens).
 */
function fromBase64url(text: string): Uint8Array | null {
  if (!/^[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]$/.test(text)) return null;
  const binary = atob(text.replaceAll("-", "+").replaceAll("_", "/"));
  return Uint8Array.from(binary, (char) => char.charCodeAt(0));
}

type Keys = NonNullable<Config["FILES_SIGNING_KEYS"]>;

/** The signing keys, or `500 config_invalid` naming the key to set. */
export function signingKeysOf(config: Pick<Config, "FILES_SIGNING_KEYS">): Keys {
  if (!config.FILES_SIGNING_KEYS) throw new AppError("config_invalid", "Signed URLs need FILES_SIGNING_KEYS.");
  return config.FILES_SIGNING_KEYS;
}

/** The signature of `message` with the current key, and that key's id. */
export async function signMessage(keys: Keys, message: string): Promise<{ kid: string; signature: string }> {
  const current = keys[0] as Keys[number];
  const signature = await crypto.subtle.sign("HMAC", await keyOf(current.secret), encoder.encode(message));
  return { kid: current.kid, signature: base64url(signature) };
}

/** Whether `signature` is the one of `message` under the key `kid` (compared in constant time). */
export async function verifyMessage(keys: Keys, kid: string, signature: string, message: string): Promise<boolean> {
  const key = keys.find((candidate) => candidate.kid === kid);
  const bytes = fromBase64url(signature);
  if (!key || !bytes) return false;
  return crypto.subtle.verify("HMAC", await keyOf(key.secret), bytes, encoder.encode(message));
}

/** A download link's signature. */
export const sign = (keys: Keys, claims: LinkClaims) => signMessage(keys, linkMessage(claims));
export const verify = (keys: Keys, kid: string, signature: string, claims: LinkClaims) =>
  verifyMessage(keys, kid, signature, linkMessage(claims));
