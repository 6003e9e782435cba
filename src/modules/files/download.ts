import { AppError } from "../../platform/errors";
import { contentDisposition } from "./names";
import { inlineAllowed, servedType } from "./sniff";
import type { files } from "./tables";

/**
 * A file's bytes as an HTTP answer, safe on the API's own origin (which also serves the docs
 * page): sandboxed by CSP, never sniffed by the browser, a download unless it is a raster image
 * asked for inline; with `ETag` / `If-None-Match` (304) and one byte range (206).
 */

type FileRow = typeof files.$inferSelect;

export type Delivery = {
  disposition: "attachment" | "inline";
  /** `same-origin` for the API's authenticated route; `cross-origin` for links meant to be embedded. */
  resourcePolicy: "same-origin" | "cross-origin";
  cacheControl: string;
};

type Range = { offset: number; length: number };

/**
 * The one range of a `Range` header as `{ offset, length }`, `"unsatisfiable"`, or null to send
 * everything (no header, several ranges, or a form this API does not serve).
 */
export function rangeOf(header: string | null, size: number): Range | "unsatisfiable" | null {
  const match = header ? /^bytes=(\d*)-(\d*)$/.exec(header.trim()) : null;
  if (!match) return null;
  const [, from, to] = match as unknown as [string, string, string];
  if (from === "" && to === "") return null;
  if (from === "") {
    const suffix = Number(to);
    if (suffix === 0) return "unsatisfiable";
    const length = Math.min(suffix, size);
    return { offset: size - length, length };
  }
  const offset = Number(from);
  if (offset >= size) return "unsatisfiable";
  const last = to === "" ? size - 1 : Math.min(Number(to), size - 1);
  if (last < offset) return null;
  return { offset, length: last - offset + 1 };
}

/** The SHA-256 as a strong ETag; none until it is known (a resumable upload's follow-up task computes it). */
const etagOf = (file: FileRow) => (file.sha256 === null ? null : `"${file.sha256}"`);

/** Whether an `If-None-Match` list names this ETag (weak comparison, as RFC 9110 asks). */
const matches = (header: string | null, etag: string) =>
  header?.split(",").some((tag) => {
    const trimmed = tag.trim();
    return trimmed === "*" || trimmed.replace(/^W\//, "") === etag;
  }) === true;

export async function deliver(env: Env, file: FileRow, request: Request, delivery: Delivery): Promise<Response> {
  const type = servedType(file.contentType);
  const inline = delivery.disposition === "inline" && inlineAllowed(file.contentType);
  const headers = new Headers({
    "Content-Type": type,
    "Content-Disposition": contentDisposition(inline ? "inline" : "attachment", file.name),
    "Content-Security-Policy": "default-src 'none'; sandbox",
    "X-Content-Type-Options": "nosniff",
    "Cross-Origin-Resource-Policy": delivery.resourcePolicy,
    "Cache-Control": delivery.cacheControl,
    "Accept-Ranges": "bytes",
  });
  const etag = etagOf(file);
  if (etag !== null) {
    headers.set("ETag", etag);
    if (matches(request.headers.get("if-none-match"), etag)) return new Response(null, { status: 304, headers });
  }
  const range = rangeOf(request.headers.get("range"), file.size);
  if (range === "unsatisfiable") {
    throw new AppError("range_not_satisfiable", `The file has ${file.size} bytes.`, {
      headers: { "Content-Range": `bytes */${file.size}` },
    });
  }
  const object = await env.FILES.get(file.r2Key, range ? { range } : {});
  if (!object) throw new AppError("not_found", "No such file.");
  if (!range) {
    headers.set("Content-Length", String(file.size));
    return new Response(object.body, { status: 200, headers });
  }
  headers.set("Content-Length", String(range.length));
  headers.set("Content-Range", `bytes ${range.offset}-${range.offset + range.length - 1}/${file.size}`);
  return new Response(object.body, { status: 206, headers });
}
