/** Small WebCrypto helpers shared by modules. */

const encoder = new TextEncoder();

/** Bytes as lowercase hex (a digest, for storage and comparison). */
export const hexOf = (bytes: ArrayBuffer | Uint8Array) =>
  [...new Uint8Array(bytes)].map((b) => b.toString(16).padStart(2, "0")).join("");

export async function sha256Hex(data: string | ArrayBuffer | Uint8Array): Promise<string> {
  const bytes = typeof data === "string" ? encoder.encode(data) : data;
  return hexOf(await crypto.subtle.digest("SHA-256", bytes));
}

/** The SHA-256 of a stream, read once (the runtime's `DigestStream`), as hex. */
export async function streamSha256Hex(stream: ReadableStream<Uint8Array>): Promise<string> {
  const digest = new crypto.DigestStream("SHA-256");
  await stream.pipeTo(digest);
  return hexOf(await digest.digest);
}

/** Base64url without padding: what URLs and tokens carry. */
export const base64url = (bytes: ArrayBuffer | Uint8Array) =>
  btoa(String.fromCharCode(...new Uint8Array(bytes)))
    .replaceAll("+", "-")
    .replaceAll("/", "_")
    .replaceAll("=", "");

/** A secret for links and refresh tokens: `bytes` random bytes, base64url without padding. */
export function randomToken(bytes = 32): string {
  return base64url(crypto.getRandomValues(new Uint8Array(bytes)));
}
