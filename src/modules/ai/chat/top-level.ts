/**
 * Replaces the values of named top-level string members in the text of a JSON object, leaving
 * every other byte as it was: how a relayed chunk gets Stratus's id and model without being
 * parsed and written again. Strings are skipped whole (an escaped quote never ends one), and
 * members of nested objects (a tool call's `id`) are never touched. Answers null when the text
 * is not an object, a named member is missing, not a string or named twice, or a member's name
 * is escaped: the caller rebuilds the chunk.
 * The text is JSON the caller has already parsed; this only finds where the members are.
 */
export function withTopLevelStrings(json: string, values: Readonly<Record<string, string>>): string | null {
  const spans: { start: number; end: number; value: string }[] = [];
  const found = new Set<string>();
  let depth = 0;
  /** At depth 1, the next string is a member's name. */
  let expectingName = false;
  let name: string | null = null;
  for (let at = 0; at < json.length; at++) {
    const code = json.charCodeAt(at);
    if (code === QUOTE) {
      const end = stringEnd(json, at);
      if (end === -1) return null;
      if (depth === 1 && expectingName) {
        name = json.slice(at + 1, end - 1);
        // An escaped name may spell a named member (`mod\u0065l`): the text cannot be trusted as read.
        if (name.includes("\\")) return null;
        expectingName = false;
      } else if (depth === 1 && name !== null && Object.hasOwn(values, name)) {
        // A member named twice: JSON.parse keeps the last, whatever is replaced.
        if (found.has(name)) return null;
        spans.push({ start: at, end, value: JSON.stringify(values[name]) });
        found.add(name);
        name = null;
      }
      at = end - 1;
    } else if (code === OPEN_BRACE || code === OPEN_BRACKET) {
      depth += 1;
      if (depth === 1) {
        if (code !== OPEN_BRACE) return null;
        expectingName = true;
      }
      name = depth === 2 ? name : null;
    } else if (code === CLOSE_BRACE || code === CLOSE_BRACKET) {
      depth -= 1;
      if (depth === 1) name = null;
    } else if (code === COMMA && depth === 1) {
      expectingName = true;
      name = null;
    }
  }
  if (found.size !== Object.keys(values).length) return null;
  let out = "";
  let from = 0;
  for (const span of spans) {
    out += json.slice(from, span.start) + span.value;
    from = span.end;
  }
  return out + json.slice(from);
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const COMMA = 0x2c;

/** The index just past the string that opens at `start`, or -1 when it never closes. */
function stringEnd(json: string, start: number): number {
  for (let at = json.indexOf('"', start + 1); at !== -1; at = json.indexOf('"', at + 1)) {
    let backslashes = 0;
    while (json.charCodeAt(at - 1 - backslashes) === BACKSLASH) backslashes += 1;
    if (backslashes % 2 === 0) return at + 1;
  }
  return -1;
}
