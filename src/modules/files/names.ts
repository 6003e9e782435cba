/**
 * File names: shown to people and put in `Content-Disposition`, never used as a path (R2 keys
 * come from ids). A name that could mislead a reader or a file system (path separators, `.` and
 * `..`, control and bidirectional-override characters) is refused rather than rewritten, so
 * what a client reads back is what it sent.
 */

export const MAX_NAME_CHARS = 255;

/** Why `name` cannot be a file's name, or null. Takes it NFC-normalised. */
export function nameProblem(name: string): string | null {
  if (name.trim() === "") return "a file name must not be empty";
  // A lone surrogate is no character: it cannot be encoded for a header or a URL.
  if (/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(name)) {
    return "a file name must be well-formed Unicode";
  }
  if ([...name].length > MAX_NAME_CHARS) return `a file name has at most ${MAX_NAME_CHARS} characters`;
  if (/[/\\]/.test(name)) return "a file name must not contain / or \\";
  if (name === "." || name === "..") return "a file name must not be . or ..";
  // C0 and C1 controls, DEL, and the bidirectional overrides that make "exe.pdf" read as "fdp.exe".
  // biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
  if (/[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/.test(name)) {
    return "a file name must not contain control or bidirectional-override characters";
  }
  if (name !== name.trim()) return "a file name must not start or end with spaces";
  return null;
}

/** RFC 6266 `Content-Disposition`: an ASCII fallback and the exact name as RFC 8187 `filename*`. */
export function contentDisposition(kind: "attachment" | "inline", name: string): string {
  const fallback = name.replace(/[^\x20-\x7e]|["\\%;]/g, "_");
  const encoded = encodeURIComponent(name).replace(
    /['()*]/g,
    (char) => `%${char.charCodeAt(0).toString(16).toUpperCase()}`,
  );
  return `${kind}; filename="${fallback}"; filename*=UTF-8''${encoded}`;
}
