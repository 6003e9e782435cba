import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../platform/context";
import { AppError } from "../platform/errors";

/** Default cap on a JSON body; a route raises it through `defineRoute`'s `maxBodyBytes`. */
const DEFAULT_JSON_BODY_BYTES = 1024 * 1024;

/** Deeper nesting than this is refused before parsing: nothing Stratus takes needs it. */
export const MAX_JSON_DEPTH = 64;
/**
 * More values than this are refused before parsing. Counted as the scan can, without parsing:
 * each object or array, plus each comma (one more element or member).
 */
export const MAX_JSON_VALUES = 100_000;

const QUOTE = 34;
const BACKSLASH = 92;

/**
 * Why a JSON text is too complex to handle safely (hostile nesting would overflow a recursive
 * parser, serializer or validator further on), or null. One iterative pass that jumps over
 * string contents natively: linear in the text, constant stack, fast on a 20 MB image.
 */
export function jsonComplexity(text: string): string | null {
  let depth = 0;
  let values = 0;
  for (let at = 0; at < text.length; at++) {
    const char = text.charCodeAt(at);
    if (char === QUOTE) {
      // The closing quote is the next one not escaped by an odd run of backslashes.
      let end = text.indexOf('"', at + 1);
      for (;;) {
        if (end === -1) return null; // unterminated: JSON.parse says so
        let backslashes = 0;
        while (text.charCodeAt(end - 1 - backslashes) === BACKSLASH) backslashes++;
        if (backslashes % 2 === 0) break;
        end = text.indexOf('"', end + 1);
      }
      at = end;
    } else if (char === 123 || char === 91) {
      // { or [
      if (++depth > MAX_JSON_DEPTH) return `nests deeper than ${MAX_JSON_DEPTH} levels`;
      values++;
    } else if (char === 125 || char === 93) {
      // } or ]
      depth--;
    } else if (char === 44 && ++values > MAX_JSON_VALUES) {
      // each comma separates one more value
      return `holds more than ${MAX_JSON_VALUES} values`;
    }
  }
  return null;
}

/** The media-type test of Hono's validator, so the guard and the validator never disagree. */
const JSON_MEDIA_TYPE = /^application\/([\w.-]+\+)?json$/i;

function isJsonContentType(contentType: string): boolean {
  return JSON_MEDIA_TYPE.test(contentType.split(";")[0]?.trim() ?? "");
}

function tooLarge(maxBytes: number): AppError {
  return new AppError("payload_too_large", `The request body exceeds the limit of ${maxBytes} bytes.`);
}

/** Reads the body, refusing it as soon as it passes `maxBytes` (declared or streamed). */
export async function readLimitedBytes(request: Request, maxBytes: number): Promise<Uint8Array> {
  const declared = request.headers.get("content-length");
  if (declared !== null && Number(declared) > maxBytes) throw tooLarge(maxBytes);
  if (!request.body) return new Uint8Array();
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel();
      throw tooLarge(maxBytes);
    }
    chunks.push(value);
  }
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return bytes;
}

/** Reads the body as text, refusing it as soon as it passes `maxBytes` (declared or streamed). */
export async function readLimitedText(request: Request, maxBytes: number): Promise<string> {
  return new TextDecoder().decode(await readLimitedBytes(request, maxBytes));
}

/**
 * Guards a JSON route before its validator runs: 415 for another content type, 413 past
 * the size limit, 400 `json_too_complex` past the nesting or value limits (checked before
 * parsing), 400 `malformed_json` for unparsable JSON. The text is left in Hono's body
 * cache, so the validator and the idempotency middleware read it without a second read.
 */
export function jsonBody(maxBytes: number = DEFAULT_JSON_BODY_BYTES) {
  return createMiddleware<AppEnv>(async (c, next) => {
    if (!isJsonContentType(c.req.header("content-type") ?? "")) {
      throw new AppError(
        "unsupported_media_type",
        "This endpoint takes a JSON body: send Content-Type: application/json.",
      );
    }
    const text = await readLimitedText(c.req.raw, maxBytes);
    const complexity = jsonComplexity(text);
    if (complexity) throw new AppError("json_too_complex", `The request body ${complexity}.`);
    try {
      JSON.parse(text);
    } catch {
      throw new AppError("malformed_json", "The request body is not valid JSON.");
    }
    // Hono keeps body promises in this cache (its type says otherwise).
    (c.req.bodyCache as Record<string, unknown>).text = Promise.resolve(text);
    await next();
  });
}

/**
 * The most a multipart form may be: it is held in memory whole to be parsed (an isolate has
 * 128 MB for every request on it). Uploads larger than this stream instead (ARCHITECTURE.md,
 * Uploads) and declare no multipart body.
 */
export const MAX_FORM_BODY_BYTES = 32 * 1024 * 1024;

/**
 * Guards a multipart form route (audio for transcription) before its validator runs: 415 for
 * another content type, 413 past the route's own limit, which every such route declares. The
 * bytes are left in Hono's body cache, from which the form validator parses them.
 */
export function formBody(maxBytes: number) {
  if (maxBytes > MAX_FORM_BODY_BYTES) {
    throw new Error(`a multipart body is buffered whole: its limit must stay at or below ${MAX_FORM_BODY_BYTES} bytes`);
  }
  return createMiddleware<AppEnv>(async (c, next) => {
    const mediaType = (c.req.header("content-type") ?? "").split(";")[0]?.trim().toLowerCase();
    if (mediaType !== "multipart/form-data") {
      throw new AppError("unsupported_media_type", "This endpoint takes a multipart/form-data body.");
    }
    const bytes = await readLimitedBytes(c.req.raw, maxBytes);
    (c.req.bodyCache as Record<string, unknown>).arrayBuffer = Promise.resolve(bytes.buffer);
    await next();
  });
}
