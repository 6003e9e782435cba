import type { Config } from "../../env";

/**
 * Signatures of download links: HMAC-SHA-256 with the current `FILES_SIGNING_KEYS` entry,
 * named by its `kid` so links signed by an older key keep working until that key is removed.
 * What is signed binds the method, the file, the link, the expiry and the disposition: a link
 * cannot be bent to another file, a later time or an inline rendering.
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

const message = (claims: LinkClaims) =>
  encoder.encode(`GET\n${claims.fileId}\n${claims.linkId}\n${claims.expires}\n${claims.disposition}`);

const base64url = (bytes: ArrayBuffer) =>
  btoa(String.fromCharCode(...new Uint8Array(bytes)))
    .replaceAll("+", "-")
    .replaceAll("/", "_")
    .replaceAll("=", "");

function fromBase64url(text: string): Uint8Array | null {
  if (!/^[A-Za-z0-9_-]{43}$/.test(text)) return null;
  const binary = atob(text.replaceAll("-", "+").replaceAll("_", "/"));
  return Uint8Array.from(binary, (char) => char.charCodeAt(0));
}

type Keys = NonNullable<Config["FILES_SIGNING_KEYS"]>;

/** The signature of `claims` with the current key, and that key's id. */
export async function sign(keys: Keys, claims: LinkClaims): Promise<{ kid: string; signature: string }> {
  const current = keys[0] as Keys[number];
  const signature = await crypto.subtle.sign("HMAC", await keyOf(current.secret), message(claims));
  return { kid: current.kid, signature: base64url(signature) };
}

/** Whether `signature` is the one of `claims` under the key `kid` (compared in constant time). */
export async function verify(keys: Keys, kid: string, signature: string, claims: LinkClaims): Promise<boolean> {
  const key = keys.find((candidate) => candidate.kid === kid);
  const bytes = fromBase64url(signature);
  if (!key || !bytes) return false;
  return crypto.subtle.verify("HMAC", await keyOf(key.secret), bytes, message(claims));
}
