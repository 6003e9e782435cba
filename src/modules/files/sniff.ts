import type { FilePurpose } from "./tables";

/**
 * What a file is, from its first bytes (never its name or the client's header), and which
 * kinds each purpose takes. Served files carry the sniffed type, so a file that says it is an
 * image but holds HTML is refused, not stored.
 */

export const DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document";
const RASTER = ["image/jpeg", "image/png", "image/gif", "image/webp"] as const;

/** How many first bytes are looked at: enough for a DOCX's first entries' names. */
export const SNIFF_BYTES = 64 * 1024;

const ALLOWED: Record<Exclude<FilePurpose, "attachment">, readonly string[]> = {
  compression: [...RASTER, "application/pdf"],
  avatar: RASTER,
  document: ["application/pdf", DOCX],
  submission: ["application/pdf", DOCX, ...RASTER, "text/plain", "application/zip"],
};

/** The types this module can tell from bytes: a client declaring one of them must be right. */
const RECOGNISED = new Set<string>([
  ...RASTER,
  "application/pdf",
  DOCX,
  "application/zip",
  "text/plain",
  "text/html",
  "image/svg+xml",
  "application/xml",
]);
const ALIASES: Record<string, string> = {
  "image/jpg": "image/jpeg",
  "image/pjpeg": "image/jpeg",
  "text/xml": "application/xml",
  "application/x-zip-compressed": "application/zip",
  "application/xhtml+xml": "text/html",
};

const startsWith = (bytes: Uint8Array, signature: readonly number[], at = 0) =>
  bytes.length >= at + signature.length && signature.every((byte, index) => bytes[at + index] === byte);
const ascii = (text: string) => [...text].map((char) => char.charCodeAt(0));

/** The type of a file from its first bytes (up to `SNIFF_BYTES`). */
export function sniff(head: Uint8Array): string {
  if (startsWith(head, [0xff, 0xd8, 0xff])) return "image/jpeg";
  if (startsWith(head, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return "image/png";
  if (startsWith(head, ascii("GIF87a")) || startsWith(head, ascii("GIF89a"))) return "image/gif";
  if (startsWith(head, ascii("RIFF")) && startsWith(head, ascii("WEBP"), 8)) return "image/webp";
  if (startsWith(head, ascii("%PDF-"))) return "application/pdf";
  if (startsWith(head, ascii("PK\x03\x04")) || startsWith(head, ascii("PK\x05\x06"))) {
    // A Word document is a ZIP whose entries live under `word/`; its first entries say so.
    return new TextDecoder("latin1").decode(head).includes("word/") ? DOCX : "application/zip";
  }
  const text = textOf(head);
  if (text === null) return "application/octet-stream";
  const markup = markupOf(text);
  return markup ?? "text/plain";
}

/** The head as text when it is UTF-8 without control characters (a cut last character allowed), else null. */
function textOf(head: Uint8Array): string | null {
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(head, { stream: true });
  } catch {
    return null;
  }
  // Tab, line feed, form feed and carriage return are text; other C0 controls and DEL are not.
  // biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
  return /[\x00-\x08\x0b\x0e-\x1f\x7f]/.test(text) ? null : text;
}

/** HTML, SVG or XML, as a browser would take them (markup served as text would still run). */
function markupOf(text: string): string | null {
  const start = text
    .replace(/^\uFEFF/, "")
    .trimStart()
    .slice(0, 1024)
    .toLowerCase();
  if (!start.startsWith("<")) return null;
  // WHATWG MIME sniffing's HTML patterns: a tag name then a space, `>` (or `/`).
  if (
    /^<(!doctype\s+html|!--|(html|head|body|script|iframe|h1|div|table|a|p|style|title|br|b|font)[\s/>])/.test(start)
  ) {
    return "text/html";
  }
  if (text.toLowerCase().includes("<svg")) return "image/svg+xml";
  if (start.startsWith("<?xml")) return "application/xml";
  return null;
}

/** Why a file of `type` cannot have this purpose, or null when it can. */
export function refusalFor(purpose: FilePurpose, type: string): string | null {
  if (purpose === "attachment") return null;
  const allowed = ALLOWED[purpose];
  if (allowed.includes(type)) return null;
  return `A ${purpose} file must be one of ${allowed.join(", ")}; these bytes are ${type}.`;
}

/**
 * Whether a type the client declared contradicts the bytes: a type this module recognises must
 * be what the bytes are (a DOCX is a ZIP too); another (generic, unknown) never contradicts.
 */
export function contradicts(declared: string | null, sniffed: string): boolean {
  if (declared === null) return false;
  const type = declared.split(";")[0]?.trim().toLowerCase() ?? "";
  const normal = ALIASES[type] ?? type;
  if (!RECOGNISED.has(normal) || normal === sniffed) return false;
  return !(normal === "application/zip" && sniffed === DOCX);
}

/** Raster images may be shown inline; everything else is only ever a download. */
export const inlineAllowed = (type: string) => (RASTER as readonly string[]).includes(type);

const SERVED_AS_IS = new Set<string>([...RASTER, "application/pdf", DOCX, "application/zip"]);

/** The type a file is served as: text, markup and unknown types as bytes, so no browser renders them. */
export const servedType = (type: string) => (SERVED_AS_IS.has(type) ? type : "application/octet-stream");
