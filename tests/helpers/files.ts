import { env } from "cloudflare:test";
import { type ApiResponse, api } from "./client";

/** Files as the API answers them. */
export type StoredFile = {
  id: string;
  accountId: string;
  purpose: string;
  name: string;
  contentType: string;
  size: number;
  sha256: string;
  uploadedBy: string;
};

const encoder = new TextEncoder();
const bytesOf = (...parts: (number[] | string)[]) => {
  const chunks = parts.map((part) => (typeof part === "string" ? encoder.encode(part) : Uint8Array.from(part)));
  const out = new Uint8Array(chunks.reduce((sum, chunk) => sum + chunk.byteLength, 0));
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.byteLength;
  }
  return out;
};

/** Small files whose first bytes are each kind's (enough for sniffing; not renderable). */
export const samples = {
  png: bytesOf([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], "\x00\x00\x00\rIHDR png body"),
  jpeg: bytesOf([0xff, 0xd8, 0xff, 0xe0], "\x00\x10JFIF jpeg body"),
  gif: bytesOf("GIF89a gif body"),
  webp: bytesOf("RIFF\x10\x00\x00\x00WEBPVP8 webp body"),
  pdf: bytesOf("%PDF-1.7\n1 0 obj << >> endobj\n%%EOF\n"),
  docx: bytesOf("PK\x03\x04\x14\x00\x06\x00", "[Content_Types].xml", "PK\x03\x04", "word/document.xml ..."),
  zip: bytesOf("PK\x03\x04\x14\x00\x00\x00", "notes.txt hello"),
  text: bytesOf("Plain text, nothing more.\n"),
  html: bytesOf("<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>"),
  svg: bytesOf('<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'),
  binary: bytesOf([0x00, 0x01, 0x02, 0x03, 0xfe, 0xff, 0x00, 0x10]),
};

/** A body that streams (no Content-Length): chunked, as a client that does not know its size sends it. */
export function streamOf(bytes: Uint8Array, chunk = 256 * 1024): ReadableStream<Uint8Array> {
  let at = 0;
  return new ReadableStream({
    pull(controller) {
      if (at >= bytes.byteLength) {
        controller.close();
        return;
      }
      controller.enqueue(bytes.slice(at, at + chunk));
      at += chunk;
    },
  });
}

export type UploadOptions = {
  name?: string;
  purpose?: string;
  type?: string;
  /** Sent without Content-Length. */
  streamed?: boolean;
  headers?: Record<string, string>;
};

/** `POST /v1/files` with `bytes` as the raw body. */
export function upload(
  headers: Record<string, string>,
  bytes: Uint8Array,
  options: UploadOptions = {},
): Promise<ApiResponse<StoredFile & Record<string, unknown>>> {
  const query = new URLSearchParams({ purpose: options.purpose ?? "attachment" });
  if (options.name !== undefined || !options.headers?.["x-file-name"]) query.set("name", options.name ?? "file.bin");
  return api(`/v1/files?${query}`, {
    method: "POST",
    body: options.streamed ? streamOf(bytes) : bytes,
    headers: {
      ...headers,
      ...(options.type === undefined
        ? { "content-type": "application/octet-stream" }
        : { "content-type": options.type }),
      ...options.headers,
    },
  });
}

/** The R2 objects under an account's prefix: what is really stored. */
export async function storedObjects(accountId: string): Promise<string[]> {
  const listed = await env.FILES.list({ prefix: `accounts/${accountId}/` });
  return listed.objects.map((object) => object.key);
}

/** The storage level and reservations of an account, as D1 has them. */
export async function storageOf(accountId: string) {
  const usage = await env.DB.prepare("SELECT used FROM storage_usage WHERE account_id = ?")
    .bind(accountId)
    .first<{ used: number }>();
  const pending = await env.DB.prepare("SELECT count(*) AS n FROM pending_uploads WHERE account_id = ?")
    .bind(accountId)
    .first<{ n: number }>();
  return { used: usage?.used ?? 0, pending: pending?.n ?? 0 };
}
