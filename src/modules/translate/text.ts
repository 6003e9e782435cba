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

const NOT_TEXT = /<(script|style)\b[^>]*>[\s\S]*?<\/\1\s*>|<!--[\s\S]*?-->|<[^>]*>/gi;
const ENTITY = /&(?:#\d+|#x[\da-f]+|[a-z][a-z\d]*);/gi;

export function countedCharacters(text: string, format: TextFormat): number {
  if (format === "text") return codePoints(text);
  return codePoints(text.replace(NOT_TEXT, "").replace(ENTITY, "_"));
}
