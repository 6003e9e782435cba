import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { api, expectProblem } from "../../helpers/client";
import { sha256Hex, sized } from "../../helpers/downloads";
import { samples, storageOf, storedObjects, streamOf, type UploadOptions, upload } from "../../helpers/files";
import { as, type Registered, registerUser } from "../../helpers/identity";
import { onPlan } from "../../helpers/orgs";

const MiB = 1024 * 1024;

async function expectNothingStored(user: Registered) {
  expect(await storedObjects(user.user.id)).toEqual([]);
  expect(await storageOf(user.user.id)).toEqual({ used: 0, pending: 0 });
}

describe("POST /v1/files: stored", () => {
  it("a raw body with Content-Length: sniffed type, hash and size; the quota counts it", async () => {
    const user = await registerUser();
    const response = await upload(as(user), samples.pdf, {
      name: "Résumé 2026.pdf",
      purpose: "document",
      type: "application/pdf",
    });
    expect(response.status, response.text).toBe(201);
    expect(response.body).toMatchObject({
      accountId: user.user.id,
      purpose: "document",
      name: "Résumé 2026.pdf",
      contentType: "application/pdf",
      size: samples.pdf.byteLength,
      sha256: await sha256Hex(samples.pdf),
      uploadedBy: user.user.id,
    });
    expect(await storedObjects(user.user.id)).toEqual([`accounts/${user.user.id}/files/${response.body.id}`]);
    expect(await storageOf(user.user.id)).toEqual({ used: samples.pdf.byteLength, pending: 0 });
    const limits = await api<{ quotas: { metric: string; used: number; limit: number }[] }>("/v1/me/limits", {
      headers: as(user),
    });
    expect(limits.body.quotas).toContainEqual({
      metric: "storage_bytes",
      used: samples.pdf.byteLength,
      limit: 104857600,
      resetsAt: null,
    });
  });

  it("a streamed body without Content-Length, buffered under a part's size", async () => {
    const user = await registerUser();
    const response = await upload(as(user), samples.png, {
      name: "a.png",
      purpose: "avatar",
      type: "image/png",
      streamed: true,
    });
    expect(response.status, response.text).toBe(201);
    expect(response.body).toMatchObject({ contentType: "image/png", size: samples.png.byteLength });
  });

  it("a streamed body past 8 MiB as an R2 multipart upload of 8 MiB parts, byte for byte", {
    timeout: 30_000,
  }, async () => {
    const user = await registerUser();
    await onPlan(user.user.id, "premium");
    const bytes = sized(samples.jpeg, 17 * MiB + 12_345);
    const response = await upload(as(user), bytes, { name: "big.jpg", purpose: "compression", streamed: true });
    expect(response.status, response.text).toBe(201);
    expect(response.body).toMatchObject({
      contentType: "image/jpeg",
      size: bytes.byteLength,
      sha256: await sha256Hex(bytes),
    });
    const object = await env.FILES.get(`accounts/${user.user.id}/files/${response.body.id}`);
    expect(new Uint8Array(await (object as R2ObjectBody).arrayBuffer())).toEqual(bytes);
    expect(await storageOf(user.user.id)).toEqual({ used: bytes.byteLength, pending: 0 });
  });

  it("a multipart/form-data body with one file part, named by the part", async () => {
    const user = await registerUser();
    const form = new FormData();
    form.append("file", new File([samples.docx], "cv.docx", { type: "application/zip" }));
    const response = await api("/v1/files?purpose=document", { method: "POST", body: form, headers: as(user) });
    expect(response.status, response.text).toBe(201);
    expect(response.body).toMatchObject({
      name: "cv.docx",
      contentType: "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    });
  });

  it("a name in X-File-Name, percent-encoded UTF-8", async () => {
    const user = await registerUser();
    const response = await upload(as(user), samples.text, {
      purpose: "submission",
      type: "text/plain",
      headers: { "x-file-name": encodeURIComponent("Übung 3 — 東京.txt") },
    });
    expect(response.status, response.text).toBe(201);
    expect(response.body.name).toBe("Übung 3 — 東京.txt");
  });

  it("any bytes as an attachment, whatever they are (served only as a download)", async () => {
    const user = await registerUser();
    for (const [bytes, type] of [
      [samples.html, "text/html"],
      [samples.svg, "image/svg+xml"],
      [samples.binary, "application/octet-stream"],
    ] as const) {
      const response = await upload(as(user), bytes, { name: "thing", purpose: "attachment", type });
      expect(response.status, response.text).toBe(201);
      expect(response.body.contentType).toBe(type);
    }
  });
});

type Refusal = {
  label: string;
  bytes?: Uint8Array;
  options?: UploadOptions;
  send?: (user: Registered) => Promise<{ status: number; text: string }>;
  status: number;
  code: string;
};

const LONG = "a".repeat(252);
const refusals: Refusal[] = [
  // Types from the bytes, against the purpose and the declared type.
  {
    label: "HTML declared as a PNG avatar",
    bytes: samples.html,
    options: { purpose: "avatar", type: "image/png" },
    status: 415,
    code: "unsupported_media_type",
  },
  {
    label: "HTML as a document",
    bytes: samples.html,
    options: { purpose: "document", type: "application/octet-stream" },
    status: 415,
    code: "unsupported_media_type",
  },
  {
    label: "SVG with a script as an avatar",
    bytes: samples.svg,
    options: { purpose: "avatar", type: "image/svg+xml" },
    status: 415,
    code: "unsupported_media_type",
  },
  {
    label: "SVG declared as a PNG",
    bytes: samples.svg,
    options: { purpose: "attachment", type: "image/png" },
    status: 415,
    code: "unsupported_media_type",
  },
  {
    label: "a PNG declared as a JPEG",
    bytes: samples.png,
    options: { purpose: "compression", type: "image/jpeg" },
    status: 415,
    code: "unsupported_media_type",
  },
  {
    label: "a PDF as an avatar",
    bytes: samples.pdf,
    options: { purpose: "avatar", type: "application/pdf" },
    status: 415,
    code: "unsupported_media_type",
  },
  {
    label: "binary bytes as a document",
    bytes: samples.binary,
    options: { purpose: "document" },
    status: 415,
    code: "unsupported_media_type",
  },
  {
    label: "plain text to compress",
    bytes: samples.text,
    options: { purpose: "compression", type: "text/plain" },
    status: 415,
    code: "unsupported_media_type",
  },
  {
    label: "a bare ZIP as a document",
    bytes: samples.zip,
    options: { purpose: "document", type: "application/zip" },
    status: 415,
    code: "unsupported_media_type",
  },
  {
    label: "a GIF polyglot declared as HTML",
    bytes: new TextEncoder().encode("GIF89a<script>alert(1)</script>"),
    options: { purpose: "attachment", type: "text/html" },
    status: 415,
    code: "unsupported_media_type",
  },
  {
    label: "a PDF declared as plain text",
    bytes: samples.pdf,
    options: { purpose: "submission", type: "text/plain" },
    status: 415,
    code: "unsupported_media_type",
  },
  {
    label: "HTML declared as plain text for a submission",
    bytes: samples.html,
    options: { purpose: "submission", type: "text/plain" },
    status: 415,
    code: "unsupported_media_type",
  },
  {
    label: "HTML opening with <p class=…> as a plain-text submission",
    bytes: new TextEncoder().encode('<p class="x">hi</p><script>alert(1)</script>'),
    options: { purpose: "submission", type: "text/plain" },
    status: 415,
    code: "unsupported_media_type",
  },
  // Names.
  {
    label: "a traversal name",
    bytes: samples.pdf,
    options: { name: "../../etc/passwd" },
    status: 400,
    code: "validation_failed",
  },
  {
    label: "a name with a slash",
    bytes: samples.pdf,
    options: { name: "reports/q3.pdf" },
    status: 400,
    code: "validation_failed",
  },
  {
    label: "a name with a backslash",
    bytes: samples.pdf,
    options: { name: "..\\..\\boot.ini" },
    status: 400,
    code: "validation_failed",
  },
  { label: "the name ..", bytes: samples.pdf, options: { name: ".." }, status: 400, code: "validation_failed" },
  {
    label: "a name with NUL",
    bytes: samples.pdf,
    options: { name: "evil\u0000.pdf" },
    status: 400,
    code: "validation_failed",
  },
  {
    label: "a name with a line break",
    bytes: samples.pdf,
    options: { name: "a\r\nSet-Cookie: x=1" },
    status: 400,
    code: "validation_failed",
  },
  {
    label: "a name with a right-to-left override",
    bytes: samples.pdf,
    options: { name: "invoice\u202Efdp.exe" },
    status: 400,
    code: "validation_failed",
  },
  { label: "an empty name", bytes: samples.pdf, options: { name: "" }, status: 400, code: "validation_failed" },
  { label: "a name of spaces", bytes: samples.pdf, options: { name: "   " }, status: 400, code: "validation_failed" },
  {
    label: "a name of 256 characters",
    bytes: samples.pdf,
    options: { name: `${LONG}.pdf` },
    status: 400,
    code: "validation_failed",
  },
  {
    label: "X-File-Name that is not percent-encoded UTF-8",
    bytes: samples.pdf,
    options: { headers: { "x-file-name": "%E0%A4%A" } },
    status: 400,
    code: "validation_failed",
  },
  {
    label: "no name at all",
    bytes: samples.pdf,
    options: { headers: { "x-file-name": "" } },
    send: (user) => api("/v1/files?purpose=attachment", { method: "POST", body: samples.pdf, headers: as(user) }),
    status: 400,
    code: "validation_failed",
  },
  // The query.
  {
    label: "an unknown purpose",
    send: (user) =>
      api("/v1/files?purpose=backdoor&name=a.pdf", { method: "POST", body: samples.pdf, headers: as(user) }),
    status: 400,
    code: "validation_failed",
  },
  {
    label: "no purpose",
    send: (user) => api("/v1/files?name=a.pdf", { method: "POST", body: samples.pdf, headers: as(user) }),
    status: 400,
    code: "validation_failed",
  },
  {
    label: "an unknown query parameter",
    send: (user) =>
      api("/v1/files?purpose=document&name=a.pdf&accountId=org_x", {
        method: "POST",
        body: samples.pdf,
        headers: as(user),
      }),
    status: 400,
    code: "validation_failed",
  },
  // Sizes.
  { label: "an empty body with Content-Length: 0", bytes: new Uint8Array(), status: 400, code: "validation_failed" },
  {
    label: "an empty streamed body",
    bytes: new Uint8Array(),
    options: { streamed: true },
    status: 400,
    code: "validation_failed",
  },
  {
    label: "past the free plan's 10 MiB, declared",
    bytes: sized(samples.pdf, 10 * MiB + 1),
    options: { purpose: "document" },
    status: 413,
    code: "payload_too_large",
  },
  {
    label: "past the free plan's 10 MiB, streamed (no Content-Length)",
    bytes: sized(samples.pdf, 10 * MiB + 1),
    options: { purpose: "document", streamed: true },
    status: 413,
    code: "payload_too_large",
  },
  // Multipart forms.
  {
    label: "a form with two file parts",
    send: (user) => {
      const form = new FormData();
      form.append("a", new File([samples.pdf], "a.pdf"));
      form.append("b", new File([samples.pdf], "b.pdf"));
      return api("/v1/files?purpose=document", { method: "POST", body: form, headers: as(user) });
    },
    status: 400,
    code: "validation_failed",
  },
  {
    label: "a form with no file part",
    send: (user) => {
      const form = new FormData();
      form.append("note", "just text");
      return api("/v1/files?purpose=document&name=a.pdf", { method: "POST", body: form, headers: as(user) });
    },
    status: 400,
    code: "validation_failed",
  },
  {
    label: "a form past 10 MiB",
    send: (user) => {
      const form = new FormData();
      form.append("file", new File([sized(samples.pdf, 10 * MiB + 10)], "big.pdf"));
      return api("/v1/files?purpose=document", { method: "POST", body: form, headers: as(user) });
    },
    status: 413,
    code: "payload_too_large",
  },
  {
    label: "a form whose file contradicts its declared type",
    send: (user) => {
      const form = new FormData();
      form.append("file", new File([samples.html], "cat.png", { type: "image/png" }));
      return api("/v1/files?purpose=avatar", { method: "POST", body: form, headers: as(user) });
    },
    status: 415,
    code: "unsupported_media_type",
  },
];

describe("POST /v1/files: refused, nothing stored, nothing counted", () => {
  it(`has at least 30 cases (${refusals.length})`, () => expect(refusals.length).toBeGreaterThanOrEqual(30));

  for (const refusal of refusals) {
    it(refusal.label, async () => {
      const user = await registerUser();
      const response = refusal.send
        ? await refusal.send(user)
        : await upload(as(user), refusal.bytes ?? samples.pdf, {
            ...(refusal.options?.headers?.["x-file-name"] === undefined ? { name: "file.bin" } : {}),
            ...refusal.options,
          });
      expectProblem(response as never, refusal.status, refusal.code);
      await expectNothingStored(user);
    });
  }

  it("a body shorter than its Content-Length", async () => {
    const user = await registerUser();
    const response = await api("/v1/files?purpose=attachment&name=short.bin", {
      method: "POST",
      body: streamOf(samples.pdf),
      headers: { ...as(user), "content-length": String(samples.pdf.byteLength + 100) },
    }).catch((error: unknown) => ({ status: 0, text: String(error) }));
    // Either the runtime refuses the mismatch itself, or the upload does: never a file.
    expect(response.status === 0 || response.status === 400, JSON.stringify(response.text)).toBe(true);
    await expectNothingStored(user);
  });

  it("past the storage quota: 403 storage_quota_exceeded with what is used", async () => {
    const user = await registerUser();
    await env.DB.prepare("INSERT INTO storage_usage (account_id, used, limit_value) VALUES (?, ?, ?)")
      .bind(user.user.id, 104857600 - 10, 104857600)
      .run();
    const response = await upload(as(user), samples.pdf, { purpose: "document" });
    const problem = expectProblem(response, 403, "storage_quota_exceeded");
    expect(problem).toMatchObject({ used: 104857600 - 10, limit: 104857600, needed: samples.pdf.byteLength });
    expect(await storedObjects(user.user.id)).toEqual([]);
    expect(await storageOf(user.user.id)).toEqual({ used: 104857600 - 10, pending: 0 });
  });

  it("over the quota after a downgrade: new uploads refused, nothing deleted", async () => {
    const user = await registerUser();
    await onPlan(user.user.id, "premium");
    const kept = await upload(as(user), samples.pdf, { purpose: "document" });
    expect(kept.status).toBe(201);
    // Premium's 10 GiB, used past free's 100 MiB (as if by large files), then the downgrade.
    await env.DB.prepare("UPDATE storage_usage SET used = ? WHERE account_id = ?")
      .bind(200 * MiB, user.user.id)
      .run();
    await onPlan(user.user.id, "free");
    const refused = await upload(as(user), samples.png, { purpose: "avatar" });
    expect(expectProblem(refused, 403, "storage_quota_exceeded").detail).toMatch(/over its plan/);
    expect(await storedObjects(user.user.id)).toHaveLength(1);
    expect((await api(`/v1/files/${kept.body.id}`, { headers: as(user) })).status).toBe(200);
  });
});
