import { AppError } from "../../platform/errors";
import { SNIFF_BYTES, sniff } from "./sniff";

/**
 * One pass over an upload's bytes as they stream to R2: counts them (refusing past `max`), keeps
 * the first `SNIFF_BYTES` to tell the type, and hashes them (SHA-256, in the runtime's
 * `DigestStream`). `judge` sees the sniffed type as soon as the head is complete (or the body
 * ends), early enough to refuse before R2 has the object.
 */
/** `400`: a file has at least one byte. */
export const emptyFile = () =>
  new AppError("validation_failed", "The file is empty.", { errors: [{ path: "body", message: "empty" }] });

export class Inspector {
  size = 0;
  type: string | null = null;
  private readonly head = new Uint8Array(SNIFF_BYTES);
  private readonly digest = new crypto.DigestStream("SHA-256");
  private readonly hashing = this.digest.getWriter();

  constructor(
    private readonly max: number,
    private readonly tooLarge: () => AppError,
    private readonly judge: (type: string) => void,
  ) {}

  async take(chunk: Uint8Array): Promise<void> {
    const before = this.size;
    this.size += chunk.byteLength;
    if (this.size > this.max) throw this.tooLarge();
    if (before < SNIFF_BYTES) {
      this.head.set(chunk.subarray(0, SNIFF_BYTES - before), before);
      if (this.size >= SNIFF_BYTES) this.decide();
    }
    await this.hashing.write(chunk);
  }

  /** At the end of the bytes: the type (if the head was short) and the hex SHA-256. */
  async finish(): Promise<{ size: number; type: string; sha256: string }> {
    if (this.size === 0) throw emptyFile();
    if (this.type === null) this.decide();
    await this.hashing.close();
    const hash = new Uint8Array(await this.digest.digest);
    return {
      size: this.size,
      type: this.type as unknown as string,
      sha256: [...hash].map((byte) => byte.toString(16).padStart(2, "0")).join(""),
    };
  }

  /** Stops hashing (the upload failed). */
  abandon(): void {
    this.hashing.abort().catch(() => {});
    // The digest then rejects, and nobody waits for it.
    this.digest.digest.catch(() => {});
  }

  private decide(): void {
    this.type = sniff(this.head.subarray(0, Math.min(this.size, SNIFF_BYTES)));
    this.judge(this.type);
  }
}
