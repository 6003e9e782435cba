import { hexOf } from "../../platform/crypto";
import { AppError } from "../../platform/errors";
import { SNIFF_BYTES, sniff } from "./sniff";

/**
 * One pass over an upload's bytes as they stream to R2: counts them (refusing past `max`), keeps
 * the first `SNIFF_BYTES` to tell the type, and hashes them (SHA-256, in the runtime's
 * `DigestStream`) unless told not to. `judge` sees the sniffed type as soon as the head is
 * complete (or the body ends), early enough to refuse before R2 has the object.
 */

/** `400`: a file has at least one byte. */
export const emptyFile = () =>
  new AppError("validation_failed", "The file is empty.", { errors: [{ path: "body", message: "empty" }] });

/** A request's declared `Content-Length`: digits only, else 400 (a body is never read by a length it does not have). */
export function declaredLength(request: Request): number | null {
  const header = request.headers.get("content-length");
  if (header === null) return null;
  if (!/^\d{1,15}$/.test(header)) {
    throw new AppError("validation_failed", "Content-Length must be a number of bytes.", {
      errors: [{ path: "header.content-length", message: "not a number" }],
    });
  }
  return Number(header);
}

/** `400`: more bytes came than the request said it had. */
export const longerThan = (length: number) => () =>
  new AppError("validation_failed", `The body is longer than its Content-Length (${length}).`);

/**
 * What is hashed and passed on to R2 at a time: each pass through the stream costs a turn of
 * JavaScript (twice the bare put's time in 16 KiB chunks), and each upload holds about one block.
 */
const BLOCK_BYTES = 2 * 1024 * 1024;

/** Bytes gathered from many chunks, taken out in front. */
export class Chunks {
  private chunks: Uint8Array[] = [];
  size = 0;

  add(chunk: Uint8Array): void {
    this.chunks.push(chunk);
    this.size += chunk.byteLength;
  }

  take(bytes: number): Uint8Array {
    if (this.chunks.length === 1 && this.chunks[0]?.byteLength === bytes) {
      this.size = 0;
      return this.chunks.pop() as Uint8Array;
    }
    const out = new Uint8Array(bytes);
    let at = 0;
    while (at < bytes) {
      const chunk = this.chunks[0] as Uint8Array;
      const used = Math.min(chunk.byteLength, bytes - at);
      out.set(chunk.subarray(0, used), at);
      at += used;
      if (used === chunk.byteLength) this.chunks.shift();
      else this.chunks[0] = chunk.subarray(used);
    }
    this.size -= bytes;
    return out;
  }
}

export type Inspected = { size: number; type: string; sha256: string | null };

type InspectorOptions = {
  max: number;
  tooLarge: () => AppError;
  /** Throws to refuse the bytes; not given, nothing is sniffed (a part after a file's first). */
  judge?: (type: string) => void;
  hash: boolean;
};

export class Inspector {
  size = 0;
  /** Sniffed and judged: the bytes may go on. */
  decided = false;
  private type = "application/octet-stream";
  private readonly head = new Uint8Array(SNIFF_BYTES);
  private readonly digest: DigestStream | null;
  private readonly hashing: WritableStreamDefaultWriter<ArrayBufferView | ArrayBuffer> | null;

  constructor(private readonly options: InspectorOptions) {
    this.digest = options.hash ? new crypto.DigestStream("SHA-256") : null;
    this.hashing = this.digest?.getWriter() ?? null;
    if (!options.judge) this.decided = true;
  }

  /** Counts and sniffs the next chunk (throwing past `max`, or when `judge` refuses). */
  take(chunk: Uint8Array): void {
    const before = this.size;
    this.size += chunk.byteLength;
    if (this.size > this.options.max) throw this.options.tooLarge();
    if (!this.decided) {
      this.head.set(chunk.subarray(0, SNIFF_BYTES - before), before);
      if (this.size >= SNIFF_BYTES) this.decide();
    }
  }

  /** Hashes the next bytes taken, a block at a time (a network body comes in many small chunks). */
  async hash(block: Uint8Array): Promise<void> {
    await this.hashing?.write(block);
  }

  /** At the end of the bytes: their size, their type (when judged) and their hex SHA-256 (when hashed). */
  async finish(): Promise<Inspected> {
    if (this.size === 0) throw emptyFile();
    if (!this.decided) this.decide();
    await this.hashing?.close();
    return { size: this.size, type: this.type, sha256: this.digest ? hexOf(await this.digest.digest) : null };
  }

  /** Stops hashing (the upload failed). */
  abandon(): void {
    this.hashing?.abort().catch(() => {});
    // The digest then rejects, and nobody waits for it.
    this.digest?.digest.catch(() => {});
  }

  private decide(): void {
    this.type = sniff(this.head.subarray(0, Math.min(this.size, SNIFF_BYTES)));
    this.options.judge?.(this.type);
    this.decided = true;
  }
}

/**
 * A body of exactly `length` bytes through `inspector`, for an R2 write that needs its length:
 * the first bytes wait for the type's verdict (R2 stores an object as soon as it has all of its
 * bytes, so a refusal must come before the last of them is passed on), and a body shorter or
 * longer than `length` fails the stream. `failure()` is what failed it, `result()` the end's
 * inspection.
 */
export function inspectedBody(body: ReadableStream<Uint8Array>, length: number, inspector: Inspector) {
  let failure: unknown = null;
  let result: Inspected | null = null;
  // Held until the type's verdict, then passed on a block at a time.
  const held = new Chunks();
  const failed = (error: unknown) => {
    failure = error;
    return error;
  };
  const inspecting = new TransformStream<Uint8Array, Uint8Array>({
    async transform(chunk, controller) {
      try {
        inspector.take(chunk);
      } catch (error) {
        throw failed(error);
      }
      held.add(chunk);
      if (inspector.decided && held.size >= BLOCK_BYTES) {
        const block = held.take(held.size);
        await inspector.hash(block);
        controller.enqueue(block);
      }
    },
    async flush(controller) {
      try {
        if (inspector.size < length) {
          throw new AppError("validation_failed", `The body ended at ${inspector.size} of its ${length} bytes.`);
        }
        const rest = held.take(held.size);
        await inspector.hash(rest);
        result = await inspector.finish();
        if (rest.byteLength > 0) controller.enqueue(rest);
      } catch (error) {
        throw failed(error);
      }
    },
  });
  return {
    stream: body.pipeThrough(inspecting).pipeThrough(new FixedLengthStream(length)),
    failure: () => failure,
    result: () => result,
  };
}

/** The one error a body's write failed with: the inspection's own, else R2's. */
export function bodyFailure(inspected: ReturnType<typeof inspectedBody>, error: unknown): unknown {
  return inspected.failure() ?? error;
}
