import { clock } from "./clock";

/**
 * Prefixed, sortable, unguessable ids: `<prefix>_<10 chars of time><16 chars of randomness>`,
 * Crockford base32 (the ULID layout). 48 bits of milliseconds keep ids in creation order;
 * 80 random bits keep them unguessable.
 */

const ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/**
 * Random bytes come from a pool refilled 4 KiB at a time: one getRandomValues call per id
 * was the single largest cost of a request. Losing the pool is harmless.
 */
const POOL_BYTES = 4096;
let pool = new Uint8Array(0);
let poolOffset = 0;

function randomBytes(count: number): Uint8Array {
  if (poolOffset + count > pool.length) {
    pool = crypto.getRandomValues(new Uint8Array(POOL_BYTES));
    poolOffset = 0;
  }
  const bytes = pool.subarray(poolOffset, poolOffset + count);
  poolOffset += count;
  return bytes;
}

/** Every id kind; modules add theirs. */
export type IdPrefix =
  | "req"
  | "task"
  | "usr"
  | "ses"
  | "eml"
  | "org"
  | "inv"
  | "aud"
  | "key"
  | "led"
  | "hld"
  | "prs"
  | "cnv"
  | "msg"
  | "use"
  | "trn"
  | "file"
  | "lnk"
  | "upl";

export function newId(prefix: IdPrefix, now: number = clock.now()): string {
  let time = "";
  let t = now;
  for (let i = 0; i < 10; i++) {
    time = ALPHABET[t % 32] + time;
    t = Math.floor(t / 32);
  }
  const bytes = randomBytes(10);
  let random = "";
  // 80 bits → 16 base32 digits, 5 bits at a time.
  let buffer = 0;
  let bits = 0;
  for (const byte of bytes) {
    buffer = (buffer << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      random += ALPHABET[(buffer >> bits) & 31];
    }
    buffer &= (1 << bits) - 1;
  }
  return `${prefix}_${time}${random}`;
}

/**
 * An id of the same layout that also sorts by `sequence` within one millisecond: 6 of the 16
 * random characters carry it (up to 2^30), for rows whose order is a sequence (a wallet's ledger).
 */
export function newSequencedId(prefix: IdPrefix, now: number, sequence: number): string {
  const id = newId(prefix, now);
  let digits = "";
  let n = sequence % 2 ** 30;
  for (let i = 0; i < 6; i++) {
    digits = ALPHABET[n % 32] + digits;
    n = Math.floor(n / 32);
  }
  const timeEnd = prefix.length + 1 + 10;
  return `${id.slice(0, timeEnd)}${digits}${id.slice(timeEnd + 6)}`;
}
