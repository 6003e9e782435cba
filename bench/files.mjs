// The files part of `npm run bench`: single-shot uploads through `POST /v1/files` (authenticated,
// rate-limited, quota reserved, counted, sniffed and hashed on the way, the row written) against
// a bare R2 put of the same bytes from a minimal Worker on the same workerd (bench/baseline.ts),
// one client, alternating sides by round: MiB/s per side and the ratio.

const MiB = 1024 * 1024;

/** Bytes that sniff as a PDF (the upload's purpose takes them), the rest pseudo-random. */
function pdfOf(size) {
  const bytes = new Uint8Array(size);
  for (let i = 0; i < size; i += 4096) bytes[i] = (i * 2654435761) >>> 24;
  bytes.set(new TextEncoder().encode("%PDF-1.7\n"));
  return bytes;
}

/**
 * @param {{ stratus: string, headers: Record<string, string>, baseline: string, sizes: number[], rounds: number, uploads: number }} options
 * @returns {Promise<Record<string, { stratus: number[], bare: number[] }>>} MiB/s per round, by size label
 */
export async function benchUploads({ stratus, headers, baseline, sizes, rounds, uploads }) {
  const send = async (url, bytes, extra) => {
    const response = await fetch(url, {
      method: url.includes("/v1/files") ? "POST" : "PUT",
      headers: { "content-type": "application/pdf", ...extra },
      body: bytes,
    });
    const text = await response.text();
    if (response.status !== 201) throw new Error(`upload failed: ${response.status} ${text}`);
  };
  const targets = {
    stratus: (bytes, n) => send(`${stratus}/v1/files?purpose=document&name=bench-${n}.pdf`, bytes, headers),
    bare: (bytes, n) => send(`${baseline}/r2/bench-${n}`, bytes, {}),
  };
  const results = {};
  for (const size of sizes) {
    const bytes = pdfOf(size);
    const label = `${size / MiB} MiB`;
    results[label] = { stratus: [], bare: [] };
    for (const side of Object.keys(targets)) await targets[side](bytes, "warm");
    for (let round = 0; round < rounds; round++) {
      for (const side of round % 2 === 0 ? ["bare", "stratus"] : ["stratus", "bare"]) {
        const started = performance.now();
        for (let i = 0; i < uploads; i++) await targets[side](bytes, `${round}-${i}`);
        const seconds = (performance.now() - started) / 1000;
        results[label][side].push((uploads * size) / MiB / seconds);
      }
    }
  }
  return results;
}

export const UPLOAD_SIZES = [1 * MiB, 16 * MiB];
