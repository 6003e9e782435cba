/**
 * What a translation is counted in: Unicode code points (not UTF-16 units), and for HTML only
 * those of its text nodes (markup, comments, scripts and styles are free; an entity such as
 * `&amp;` is one character).
 */

export type TextFormat = "text" | "html";

export function codePoints(text: string): number {
  let count = 0;
  for (const _ of text) count++;
  return count;
}

const ENTITY = /&(?:#\d{1,7}|#x[\da-f]{1,6}|[a-z][a-z\d]{0,31});/gi;

/**
 * The text nodes of HTML, in one pass: each search starts where the last one ended, so a
 * hostile input (thousands of unclosed `<`) costs linear time, not quadratic.
 */
function textNodesOf(html: string): string {
  const lower = html.toLowerCase();
  let text = "";
  let at = 0;
  while (at < html.length) {
    const open = html.indexOf("<", at);
    if (open === -1) break;
    text += html.slice(at, open);
    const end = markupEnd(html, lower, open);
    // A `<` that no `>` follows: nothing after it can close either, so the rest is text.
    if (end === -1) {
      at = open;
      break;
    }
    at = end;
  }
  return text + html.slice(at);
}

/**
 * Where the markup at `open` ends (a comment, a script or style with its content, a tag), or
 * -1 for a `<` no `>` follows. An unclosed comment, script or style runs to the end, as in a browser.
 */
function markupEnd(html: string, lower: string, open: number): number {
  if (html.startsWith("<!--", open)) {
    const close = html.indexOf("-->", open + 4);
    return close === -1 ? html.length : close + 3;
  }
  const close = html.indexOf(">", open + 1);
  if (close === -1) return -1;
  const raw = /^<(script|style)\b/.exec(lower.slice(open, Math.min(close + 1, open + 8)))?.[1];
  if (!raw) return close + 1;
  const ending = lower.indexOf(`</${raw}`, close + 1);
  if (ending === -1) return html.length;
  const after = html.indexOf(">", ending);
  return after === -1 ? html.length : after + 1;
}

export function countedCharacters(text: string, format: TextFormat): number {
  if (format === "text") return codePoints(text);
  return codePoints(textNodesOf(text).replace(ENTITY, "_"));
}
