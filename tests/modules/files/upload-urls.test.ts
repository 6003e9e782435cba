import { env } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import { testClock } from "../../../src/platform/clock";
import { api, expectProblem } from "../../helpers/client";
import { samples, storageOf, storedObjects } from "../../helpers/files";
import { as, type Registered, registerUser } from "../../helpers/identity";

afterEach(() => testClock.reset());

type UploadUrl = { id: string; fileId: string; url: string; headers: Record<string, string>; expiresAt: string };

const issue = (user: Registered, body: Record<string, unknown>) =>
  api<UploadUrl>("/v1/files/upload-urls", { json: body, headers: as(user) });

/** PUTs `bytes` to a signed URL with no credentials, as a browser handed the URL would. */
const put = (url: string, bytes: Uint8Array, headers: Record<string, string>) => {
  const { pathname, search } = new URL(url);
  return api<{ id: string; sha256: string; contentType: string }>(`${pathname}${search}`, {
    method: "PUT",
    body: bytes,
    headers,
  });
};

const pdfUrl = (user: Registered, extra: Record<string, unknown> = {}) =>
  issue(user, {
    name: "scan.pdf",
    size: samples.pdf.byteLength,
    type: "application/pdf",
    purpose: "document",
    ...extra,
  });

describe("signed upload URLs", () => {
  it("reserve at issue; one PUT of the signed size and type stores the file; a replay is 404", async () => {
    const user = await registerUser();
    const issued = await pdfUrl(user);
    expect(issued.status, issued.text).toBe(201);
    expect(issued.body.headers).toEqual({
      "Content-Type": "application/pdf",
      "Content-Length": String(samples.pdf.byteLength),
    });
    expect(await storageOf(user.user.id)).toEqual({ used: samples.pdf.byteLength, pending: 1 });
    const stored = await put(issued.body.url, samples.pdf, { "content-type": "application/pdf" });
    expect(stored.status, stored.text).toBe(201);
    expect(stored.body).toMatchObject({ id: issued.body.fileId, contentType: "application/pdf" });
    expect(stored.body.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(await storageOf(user.user.id)).toEqual({ used: samples.pdf.byteLength, pending: 0 });
    expectProblem(await put(issued.body.url, samples.pdf, { "content-type": "application/pdf" }), 404, "not_found");
    expect(await storedObjects(user.user.id)).toHaveLength(1);
  });

  it("refuses an altered or expired URL (404), another length or type (400), bytes that are not the type (415)", async () => {
    const user = await registerUser();
    const issued = await pdfUrl(user);
    const url = new URL(issued.body.url);
    const altered = (name: string, value: string) => {
      const copy = new URL(url);
      copy.searchParams.set(name, value);
      return copy.toString();
    };
    const headers = { "content-type": "application/pdf" };
    const signature = url.searchParams.get("signature") as string;
    expectProblem(
      await put(altered("signature", `${signature.slice(0, -2)}AA`), samples.pdf, headers),
      404,
      "not_found",
    );
    expectProblem(
      await put(altered("expires", String(Number(url.searchParams.get("expires")) + 3600)), samples.pdf, headers),
      404,
      "not_found",
    );
    expectProblem(await put(altered("kid", "nope"), samples.pdf, headers), 404, "not_found");
    expectProblem(await put(issued.body.url, samples.pdf, { "content-type": "image/png" }), 400, "validation_failed");
    expectProblem(await put(issued.body.url, samples.pdf.subarray(1), headers), 400, "validation_failed");
    expect(await storageOf(user.user.id)).toEqual({ used: samples.pdf.byteLength, pending: 1 });
    // Bytes that are not a PDF: refused, and the URL is spent with its reservation.
    const fake = new TextEncoder().encode("<html>".padEnd(samples.pdf.byteLength, " "));
    expectProblem(await put(issued.body.url, fake, headers), 415, "unsupported_media_type");
    expect(await storageOf(user.user.id)).toEqual({ used: 0, pending: 0 });
    expect(await storedObjects(user.user.id)).toEqual([]);

    const later = await pdfUrl(user, { expiresIn: 60 });
    testClock.advance(61_000);
    expectProblem(await put(later.body.url, samples.pdf, headers), 404, "not_found");
  });

  it("refuses to issue past the quota, past the plan's limit, or for a bad name", async () => {
    const user = await registerUser();
    expectProblem(await pdfUrl(user, { size: 10 * 1024 * 1024 + 1 }), 413, "payload_too_large");
    expectProblem(await pdfUrl(user, { name: "a/b.pdf" }), 400, "validation_failed");
    expectProblem(await pdfUrl(user, { expiresIn: 3601 }), 400, "validation_failed");
    await env.DB.prepare("INSERT INTO storage_usage (account_id, used, limit_value) VALUES (?, ?, ?)")
      .bind(user.user.id, 104857600 - 1, 104857600)
      .run();
    expectProblem(await pdfUrl(user), 403, "storage_quota_exceeded");
  });
});
