import { createExecutionContext, createScheduledController, env, SELF, waitOnExecutionContext } from "cloudflare:test";
import worker from "../../src/index";
import { BASE_URL, withClientIp } from "./client";

/** A download as raw bytes (`api` decodes bodies as text, which binary bytes do not survive). */
export type Download = { status: number; headers: Headers; bytes: Uint8Array; text: string };

/** `GET path` through the Worker's fetch handler, answering the body as bytes (and as text, for problems). */
export async function download(path: string, headers: Record<string, string> = {}): Promise<Download> {
  const response = await SELF.fetch(`${BASE_URL}${path}`, { headers: withClientIp(headers) });
  const bytes = new Uint8Array(await response.arrayBuffer());
  return { status: response.status, headers: response.headers, bytes, text: new TextDecoder().decode(bytes) };
}

/** The path and query of a URL the API answered (its origin is the test Worker's). */
export const pathOf = (url: string) => {
  const parsed = new URL(url);
  return `${parsed.pathname}${parsed.search}`;
};

/** Runs the 5-minute cron as if it fired at `scheduledTime` (with these bindings), and waits for every task. */
export async function runCronAt(scheduledTime: number, bindings: Env = env) {
  const ctx = createExecutionContext();
  await worker.scheduled(createScheduledController({ cron: "*/5 * * * *", scheduledTime }), bindings, ctx);
  await waitOnExecutionContext(ctx);
}

/** Hex SHA-256, as files report it. */
export const sha256Hex = async (bytes: Uint8Array) =>
  [...new Uint8Array(await crypto.subtle.digest("SHA-256", bytes))]
    .map((byte) => byte.toString(16).padStart(2, "0"))
    .join("");

/** Deterministic bytes of a size, starting as `head` (a type's signature). */
export function sized(head: Uint8Array, size: number): Uint8Array {
  const bytes = new Uint8Array(size);
  for (let i = 0; i < size; i++) bytes[i] = (i * 31 + 7) & 0xff;
  bytes.set(head.subarray(0, Math.min(head.byteLength, size)));
  return bytes;
}
