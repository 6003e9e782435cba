import type { z } from "zod";
import type { Redactor } from "../redact";

/**
 * What every adapter of an external API (AI and translation providers, email, Stripe, those to
 * come) shares about untrusted answers: an answer is validated before it is used, and a failed
 * one is described for the logs by its status and a bounded, redacted excerpt. Clients never
 * see an upstream's body or headers: each adapter maps a failure to its module's own words.
 */

/** How much of a failed answer's body is read at most (the excerpt is shorter still). */
const MAX_FAILED_BODY_BYTES = 4_096;

/**
 * A failed answer: its status, the start of its body (to read an error code from, never to log
 * or show) and a shorter, redacted excerpt of it (for a log line).
 */
export async function failedAnswerOf(
  response: Response,
  redactor: Redactor,
): Promise<{ status: number; body: string; excerpt: string }> {
  const body = await boundedText(response, MAX_FAILED_BODY_BYTES);
  return { status: response.status, body, excerpt: redactor.excerpt(body) };
}

/** At most `maxBytes` of a body as text; the rest is never read. A body that breaks reads as what arrived. */
async function boundedText(response: Response, maxBytes: number): Promise<string> {
  return (await readAtMost(response, maxBytes)).text;
}

async function readAtMost(response: Response, maxBytes: number): Promise<{ text: string; complete: boolean }> {
  if (!response.body) return { text: "", complete: true };
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let text = "";
  let read = 0;
  let complete = false;
  try {
    while (read <= maxBytes) {
      const { done, value } = await reader.read();
      if (done) {
        complete = true;
        break;
      }
      const chunk = value.byteLength > maxBytes - read ? value.subarray(0, Math.max(0, maxBytes - read)) : value;
      read += value.byteLength;
      text += decoder.decode(chunk, { stream: true });
    }
  } catch {
    // what arrived is what there is
  } finally {
    await reader.cancel().catch(() => {});
  }
  return { text: text + decoder.decode(), complete };
}

/**
 * A successful answer's body as JSON, read to at most `maxBytes`: a longer body (which would
 * only fill the isolate's memory) or one that is not JSON is a problem of the upstream's.
 */
export async function answerJson(response: Response, maxBytes: number): Promise<Checked<unknown>> {
  const { text, complete } = await readAtMost(response, maxBytes);
  if (!complete) return { ok: false, problem: `(root): longer than ${maxBytes} bytes, or cut short` };
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch {
    return { ok: false, problem: "(root): not JSON" };
  }
}

export type Checked<T> = { ok: true; value: T } | { ok: false; problem: string };

/**
 * An upstream value against the schema of what is used of it (unknown fields pass, wrong types
 * and ranges fail). A failure names the first problem's path and rule, never the value.
 */
export function checkAnswer<S extends z.ZodType>(schema: S, value: unknown): Checked<z.output<S>> {
  const result = schema.safeParse(value);
  if (result.success) return { ok: true, value: result.data };
  const [issue] = result.error.issues;
  const path = issue?.path.map(String).join(".") || "(root)";
  return { ok: false, problem: `${path}: ${issue?.code ?? "invalid"}` };
}
