import { env } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import { testClock } from "../../../src/platform/clock";
import { api, expectProblem } from "../../helpers/client";
import { download, pathOf, sha256Hex, sized } from "../../helpers/downloads";
import { type StoredFile, samples, storageOf, storedObjects, upload } from "../../helpers/files";
import { as, type Registered, registerUser } from "../../helpers/identity";

/**
 * Reading files back: the bytes with headers that keep them inert on the API's origin, ranges
 * and conditional requests; listing, metadata, renaming and deleting; and another account's
 * file, which does not exist whatever the route.
 */

afterEach(() => testClock.reset());

const CSP = "default-src 'none'; sandbox";

async function uploaded(user: Registered, bytes: Uint8Array, options: Parameters<typeof upload>[2] = {}) {
  const response = await upload(as(user), bytes, options);
  expect(response.status, response.text).toBe(201);
  return response.body;
}

const content = (user: Registered, file: { id: string }, headers: Record<string, string> = {}) =>
  download(`/v1/files/${file.id}/content`, { ...as(user), ...headers });

describe("GET /v1/files/:id/content", () => {
  it("answers the exact bytes uploaded, with the headers that keep them inert", async () => {
    const user = await registerUser();
    const bytes = sized(samples.pdf, 70_000);
    const file = await uploaded(user, bytes, { name: "Résumé 2026.pdf", purpose: "document" });
    const response = await content(user, file);
    expect(response.status, response.text).toBe(200);
    expect(response.bytes).toEqual(bytes);
    expect(Object.fromEntries(response.headers)).toMatchObject({
      "content-type": "application/pdf",
      "content-disposition": `attachment; filename="R_sum_ 2026.pdf"; filename*=UTF-8''R%C3%A9sum%C3%A9%202026.pdf`,
      "content-security-policy": CSP,
      "x-content-type-options": "nosniff",
      "cross-origin-resource-policy": "same-origin",
      etag: `"${await sha256Hex(bytes)}"`,
      "accept-ranges": "bytes",
      "content-length": String(bytes.byteLength),
      "cache-control": "private, no-cache",
    });
    expect(response.headers.get("etag")).toBe(`"${file.sha256}"`);
  });

  it("quotes, escapes and percent-encodes names so the header says exactly the name", async () => {
    const user = await registerUser();
    const name = `Q3 "final"; 100% (draft) it's *done* — 東京.pdf`;
    const file = await uploaded(user, samples.pdf, { name, purpose: "document" });
    const response = await content(user, file);
    const disposition = response.headers.get("content-disposition") as string;
    expect(disposition).toBe(
      `attachment; filename="Q3 _final__ 100_ (draft) it's *done* _ __.pdf"; filename*=UTF-8''${encodeURIComponent(
        name,
      ).replace(/['()*]/g, (char) => `%${char.charCodeAt(0).toString(16).toUpperCase()}`)}`,
    );
    // RFC 8187 attr-chars only in the extended value; it decodes back to the name.
    const extended = /filename\*=UTF-8''(.*)$/.exec(disposition)?.[1] as string;
    expect(extended).toMatch(/^[A-Za-z0-9!#$&+\-.^_`|~%]+$/);
    expect(decodeURIComponent(extended)).toBe(name);
  });

  it("serves text, HTML and SVG as bytes to download, never as something a browser renders", async () => {
    const user = await registerUser();
    for (const [bytes, purpose, stored] of [
      [samples.text, "submission", "text/plain"],
      [samples.html, "attachment", "text/html"],
      [samples.svg, "attachment", "image/svg+xml"],
      [samples.binary, "attachment", "application/octet-stream"],
    ] as const) {
      const file = await uploaded(user, bytes, { name: "page.html", purpose });
      expect(file.contentType).toBe(stored);
      const response = await content(user, file);
      expect(response.status, response.text).toBe(200);
      expect(response.bytes).toEqual(bytes);
      expect(response.headers.get("content-type"), stored).toBe("application/octet-stream");
      expect(response.headers.get("content-disposition"), stored).toBe(
        `attachment; filename="page.html"; filename*=UTF-8''page.html`,
      );
      expect(response.headers.get("content-security-policy"), stored).toBe(CSP);
      expect(response.headers.get("x-content-type-options"), stored).toBe("nosniff");
    }
  });

  it("keeps an SVG with a script and an HTML attachment sandboxed downloads", async () => {
    const user = await registerUser();
    expect(new TextDecoder().decode(samples.svg)).toContain("<script>");
    for (const [bytes, name] of [
      [samples.svg, "logo.svg"],
      [samples.html, "index.html"],
    ] as const) {
      const file = await uploaded(user, bytes, { name, purpose: "attachment" });
      const response = await content(user, file);
      expect(response.status).toBe(200);
      expect(response.headers.get("content-type")).toBe("application/octet-stream");
      expect(response.headers.get("content-disposition")).toMatch(/^attachment;/);
      expect(response.headers.get("content-security-policy")).toBe(CSP);
      expect(response.headers.get("x-content-type-options")).toBe("nosniff");
      expect(response.headers.get("cross-origin-resource-policy")).toBe("same-origin");
    }
  });

  it("serves raster images and PDFs as their type, but always as attachments on this route", async () => {
    const user = await registerUser();
    for (const [bytes, type] of [
      [samples.png, "image/png"],
      [samples.jpeg, "image/jpeg"],
      [samples.pdf, "application/pdf"],
      [samples.docx, "application/vnd.openxmlformats-officedocument.wordprocessingml.document"],
    ] as const) {
      const file = await uploaded(user, bytes, { name: "f", purpose: "attachment" });
      const response = await content(user, file);
      expect(response.headers.get("content-type")).toBe(type);
      expect(response.headers.get("content-disposition")).toMatch(/^attachment;/);
    }
  });

  describe("ranges", () => {
    const bytes = sized(samples.binary, 1000);

    it("bytes=2-5: 206 with Content-Range and just those bytes", async () => {
      const user = await registerUser();
      const file = await uploaded(user, bytes);
      const response = await content(user, file, { range: "bytes=2-5" });
      expect(response.status, response.text).toBe(206);
      expect(response.headers.get("content-range")).toBe("bytes 2-5/1000");
      expect(response.headers.get("content-length")).toBe("4");
      expect(response.bytes).toEqual(bytes.slice(2, 6));
      // The same sandboxing headers on a part as on the whole.
      expect(response.headers.get("content-security-policy")).toBe(CSP);
      expect(response.headers.get("x-content-type-options")).toBe("nosniff");
      expect(response.headers.get("etag")).toBe(`"${file.sha256}"`);
    });

    it("a suffix (bytes=-4), an open end (bytes=990-), an end past the size, a suffix longer than the file", async () => {
      const user = await registerUser();
      const file = await uploaded(user, bytes);
      const cases = [
        ["bytes=-4", "bytes 996-999/1000", 996, 1000],
        ["bytes=990-", "bytes 990-999/1000", 990, 1000],
        ["bytes=995-5000", "bytes 995-999/1000", 995, 1000],
        ["bytes=-5000", "bytes 0-999/1000", 0, 1000],
        ["bytes=0-0", "bytes 0-0/1000", 0, 1],
        ["bytes=999-999", "bytes 999-999/1000", 999, 1000],
      ] as const;
      for (const [range, contentRange, from, to] of cases) {
        const response = await content(user, file, { range });
        expect(response.status, range).toBe(206);
        expect(response.headers.get("content-range"), range).toBe(contentRange);
        expect(response.headers.get("content-length"), range).toBe(String(to - from));
        expect(response.bytes, range).toEqual(bytes.slice(from, to));
      }
    });

    it("past the end: 416 range_not_satisfiable with Content-Range bytes */size", async () => {
      const user = await registerUser();
      const file = await uploaded(user, bytes);
      for (const range of ["bytes=100000-", "bytes=1000-", "bytes=1000-2000", "bytes=-0"]) {
        const response = await api(`/v1/files/${file.id}/content`, { headers: { ...as(user), range } });
        expectProblem(response, 416, "range_not_satisfiable");
        expect(response.headers.get("content-range"), range).toBe("bytes */1000");
      }
    });

    it("ignores what it does not serve (several ranges, a reversed range, another unit): the whole file", async () => {
      const user = await registerUser();
      const file = await uploaded(user, bytes);
      for (const range of ["bytes=0-1,4-5", "bytes=5-2", "items=0-5", "bytes=abc", "bytes=-"]) {
        const response = await content(user, file, { range });
        expect(response.status, range).toBe(200);
        expect(response.headers.get("content-range"), range).toBeNull();
        expect(response.bytes, range).toEqual(bytes);
      }
    });
  });

  describe("conditional requests", () => {
    it("If-None-Match with the ETag: 304 without a body", async () => {
      const user = await registerUser();
      const file = await uploaded(user, samples.pdf, { purpose: "document" });
      const etag = `"${file.sha256}"`;
      for (const ifNoneMatch of [etag, `W/${etag}`, `"other", ${etag}`, "*"]) {
        const response = await content(user, file, { "if-none-match": ifNoneMatch });
        expect(response.status, ifNoneMatch).toBe(304);
        expect(response.bytes, ifNoneMatch).toEqual(new Uint8Array());
        expect(response.headers.get("etag"), ifNoneMatch).toBe(etag);
      }
    });

    it("If-None-Match with another ETag: 200 with the bytes", async () => {
      const user = await registerUser();
      const file = await uploaded(user, samples.pdf, { purpose: "document" });
      const response = await content(user, file, { "if-none-match": `"${"0".repeat(64)}"` });
      expect(response.status).toBe(200);
      expect(response.bytes).toEqual(samples.pdf);
    });

    it("a file whose hash is not known yet has no ETag, and is served whole", async () => {
      const user = await registerUser();
      const file = await uploaded(user, samples.pdf, { purpose: "document" });
      await env.DB.prepare("UPDATE files SET sha256 = NULL WHERE id = ?").bind(file.id).run();
      const response = await content(user, file, { "if-none-match": `"${file.sha256}"` });
      expect(response.status).toBe(200);
      expect(response.headers.get("etag")).toBeNull();
      expect(response.bytes).toEqual(samples.pdf);
    });
  });

  it("a file whose object is missing is 404, not an empty 200", async () => {
    const user = await registerUser();
    const file = await uploaded(user, samples.pdf, { purpose: "document" });
    await env.FILES.delete(`accounts/${user.user.id}/files/${file.id}`);
    expectProblem(await api(`/v1/files/${file.id}/content`, { headers: as(user) }), 404, "not_found");
  });

  it("needs credentials", async () => {
    const user = await registerUser();
    const file = await uploaded(user, samples.pdf, { purpose: "document" });
    expectProblem(await api(`/v1/files/${file.id}/content`), 401, "unauthorized");
  });
});

type FileList = { items: (StoredFile & Record<string, unknown>)[]; nextCursor: string | null };

describe("GET /v1/files", () => {
  /** Three files a second apart: a PDF document, a PNG avatar, a text attachment. */
  async function threeFiles(user: Registered) {
    const first = await uploaded(user, samples.pdf, { name: "a.pdf", purpose: "document" });
    testClock.advance(1000);
    const second = await uploaded(user, samples.png, { name: "b.png", purpose: "avatar" });
    testClock.advance(1000);
    const third = await uploaded(user, samples.text, { name: "c.txt", purpose: "attachment" });
    return [first, second, third] as const;
  }

  it("lists the account's files newest first, as GET /v1/files/:id shows them", async () => {
    const user = await registerUser();
    const [first, second, third] = await threeFiles(user);
    const listed = await api<FileList>("/v1/files", { headers: as(user) });
    expect(listed.status, listed.text).toBe(200);
    expect(listed.body.items.map((file) => file.id)).toEqual([third.id, second.id, first.id]);
    expect(listed.body.nextCursor).toBeNull();
    expect(listed.body.items[0]).toEqual(third);
    const one = await api(`/v1/files/${second.id}`, { headers: as(user) });
    expect(one.status).toBe(200);
    expect(one.body).toEqual(second);
    expect(one.body).toMatchObject({ purpose: "avatar", name: "b.png", contentType: "image/png", attachedTo: null });
  });

  it("pages by cursor: limit=2 across 3 files, nextCursor null at the end", async () => {
    const user = await registerUser();
    const [first, second, third] = await threeFiles(user);
    const page1 = await api<FileList>("/v1/files?limit=2", { headers: as(user) });
    expect(page1.body.items.map((file) => file.id)).toEqual([third.id, second.id]);
    expect(page1.body.nextCursor).toEqual(expect.any(String));
    // A file added meanwhile does not shift the next page.
    testClock.advance(1000);
    await uploaded(user, samples.gif, { name: "d.gif", purpose: "avatar" });
    const page2 = await api<FileList>(`/v1/files?limit=2&cursor=${page1.body.nextCursor}`, { headers: as(user) });
    expect(page2.status, page2.text).toBe(200);
    expect(page2.body.items.map((file) => file.id)).toEqual([first.id]);
    expect(page2.body.nextCursor).toBeNull();
    // Exactly a page's worth: no cursor either.
    const exact = await api<FileList>("/v1/files?limit=4", { headers: as(user) });
    expect(exact.body.items).toHaveLength(4);
    expect(exact.body.nextCursor).toBeNull();
  });

  it("filters by purpose", async () => {
    const user = await registerUser();
    const [first, second] = await threeFiles(user);
    const documents = await api<FileList>("/v1/files?purpose=document", { headers: as(user) });
    expect(documents.body.items.map((file) => file.id)).toEqual([first.id]);
    const avatars = await api<FileList>("/v1/files?purpose=avatar&limit=1", { headers: as(user) });
    expect(avatars.body.items.map((file) => file.id)).toEqual([second.id]);
    expect(avatars.body.nextCursor).toBeNull();
    const none = await api<FileList>("/v1/files?purpose=compression", { headers: as(user) });
    expect(none.body).toEqual({ items: [], nextCursor: null });
  });

  it("shows no one else's files", async () => {
    const user = await registerUser();
    const other = await registerUser();
    await threeFiles(user);
    expect((await api<FileList>("/v1/files", { headers: as(other) })).body).toEqual({ items: [], nextCursor: null });
  });

  it("refuses a bad limit, cursor, purpose or parameter with 400", async () => {
    const user = await registerUser();
    for (const query of ["limit=0", "limit=101", "cursor=not-a-cursor", "purpose=backdoor", "accountId=usr_x"]) {
      expectProblem(await api(`/v1/files?${query}`, { headers: as(user) }), 400, "validation_failed");
    }
  });
});

describe("PATCH /v1/files/:id", () => {
  it("renames: 200 with the new name, and the download says it", async () => {
    const user = await registerUser();
    const file = await uploaded(user, samples.pdf, { name: "draft.pdf", purpose: "document" });
    testClock.advance(1000);
    const renamed = await api(`/v1/files/${file.id}`, {
      method: "PATCH",
      json: { name: "Final — été.pdf" },
      headers: as(user),
    });
    expect(renamed.status, renamed.text).toBe(200);
    expect(renamed.body).toMatchObject({ id: file.id, name: "Final — été.pdf", sha256: file.sha256, size: file.size });
    expect(Date.parse(renamed.body.updatedAt as string)).toBeGreaterThan(Date.parse(file.createdAt as string));
    expect((await api(`/v1/files/${file.id}`, { headers: as(user) })).body).toEqual(renamed.body);
    const response = await content(user, file);
    expect(response.headers.get("content-disposition")).toBe(
      `attachment; filename="Final _ _t_.pdf"; filename*=UTF-8''Final%20%E2%80%94%20%C3%A9t%C3%A9.pdf`,
    );
  });

  it("stores the name NFC-normalised, as uploads do", async () => {
    const user = await registerUser();
    const file = await uploaded(user, samples.pdf, { name: "draft.pdf", purpose: "document" });
    const renamed = await api(`/v1/files/${file.id}`, {
      method: "PATCH",
      json: { name: "Cafe\u0301.pdf" },
      headers: as(user),
    });
    expect(renamed.status, renamed.text).toBe(200);
    expect(renamed.body.name).toBe("Caf\u00e9.pdf");
  });

  it("refuses a name that could mislead, and any other key: 400, nothing changed", async () => {
    const user = await registerUser();
    const file = await uploaded(user, samples.pdf, { name: "draft.pdf", purpose: "document" });
    for (const json of [
      { name: "../x" },
      { name: "a/b.pdf" },
      { name: ".." },
      { name: "" },
      { name: "evil\u202Efdp.exe" },
      { name: "ok.pdf", purpose: "avatar" },
      { name: "ok.pdf", accountId: "usr_x" },
      {},
    ]) {
      expectProblem(
        await api(`/v1/files/${file.id}`, { method: "PATCH", json, headers: as(user) }),
        400,
        "validation_failed",
      );
    }
    expect((await api(`/v1/files/${file.id}`, { headers: as(user) })).body).toEqual(file);
  });
});

describe("DELETE /v1/files/:id", () => {
  it("204; then 404 everywhere, the object gone, the storage back to 0", async () => {
    const user = await registerUser();
    const file = await uploaded(user, samples.pdf, { name: "gone.pdf", purpose: "document" });
    const link = await api<{ url: string }>(`/v1/files/${file.id}/links`, {
      json: { expiresIn: 3600 },
      headers: as(user),
    });
    expect(link.status, link.text).toBe(201);
    expect(await storedObjects(user.user.id)).toEqual([`accounts/${user.user.id}/files/${file.id}`]);
    expect(await storageOf(user.user.id)).toEqual({ used: samples.pdf.byteLength, pending: 0 });

    const deleted = await api(`/v1/files/${file.id}`, { method: "DELETE", headers: as(user) });
    expect(deleted.status, deleted.text).toBe(204);
    expect(deleted.text).toBe("");

    expectProblem(await api(`/v1/files/${file.id}`, { headers: as(user) }), 404, "not_found");
    expectProblem(await api(`/v1/files/${file.id}/content`, { headers: as(user) }), 404, "not_found");
    expectProblem(await api(`/v1/files/${file.id}`, { method: "DELETE", headers: as(user) }), 404, "not_found");
    expectProblem(await api(pathOf(link.body.url)), 404, "not_found");
    expect((await api<FileList>("/v1/files", { headers: as(user) })).body.items).toEqual([]);
    expect(await storedObjects(user.user.id)).toEqual([]);
    expect(await storageOf(user.user.id)).toEqual({ used: 0, pending: 0 });
    expect(
      await env.DB.prepare("SELECT count(*) AS n FROM file_links WHERE file_id = ?").bind(file.id).first("n"),
    ).toBe(0);
    const limits = await api<{ quotas: { metric: string; used: number }[] }>("/v1/me/limits", { headers: as(user) });
    expect(limits.status).toBe(200);
    expect(limits.body.quotas.find((quota) => quota.metric === "storage_bytes")).toMatchObject({ used: 0 });
  });

  it("gives back only the deleted file's bytes", async () => {
    const user = await registerUser();
    const kept = await uploaded(user, samples.png, { purpose: "avatar" });
    const gone = await uploaded(user, samples.pdf, { purpose: "document" });
    expect(await storageOf(user.user.id)).toEqual({
      used: samples.png.byteLength + samples.pdf.byteLength,
      pending: 0,
    });
    expect((await api(`/v1/files/${gone.id}`, { method: "DELETE", headers: as(user) })).status).toBe(204);
    expect(await storageOf(user.user.id)).toEqual({ used: samples.png.byteLength, pending: 0 });
    expect(await storedObjects(user.user.id)).toEqual([`accounts/${user.user.id}/files/${kept.id}`]);
    expect((await content(user, kept)).bytes).toEqual(samples.png);
  });
});

describe("another account's file", () => {
  it("is 404 not_found on every files route, and nothing about it changes", async () => {
    const owner = await registerUser();
    const stranger = await registerUser();
    const file = await uploaded(owner, samples.png, { name: "private.png", purpose: "avatar" });
    const link = await api<{ id: string; url: string }>(`/v1/files/${file.id}/links`, {
      json: { expiresIn: 3600, disposition: "inline" },
      headers: as(owner),
    });
    expect(link.status, link.text).toBe(201);
    // The stranger's own file, to aim a link route of theirs at the owner's link.
    const own = await uploaded(stranger, samples.pdf, { name: "mine.pdf", purpose: "document" });
    const before = {
      storage: await storageOf(owner.user.id),
      objects: await storedObjects(owner.user.id),
      links: await env.DB.prepare("SELECT * FROM file_links WHERE file_id = ?").bind(file.id).all(),
    };

    const attempts: [string, string, unknown][] = [
      ["GET", `/v1/files/${file.id}`, undefined],
      ["PATCH", `/v1/files/${file.id}`, { name: "stolen.png" }],
      ["DELETE", `/v1/files/${file.id}`, undefined],
      ["GET", `/v1/files/${file.id}/content`, undefined],
      ["POST", `/v1/files/${file.id}/links`, { expiresIn: 3600 }],
      ["GET", `/v1/files/${file.id}/links`, undefined],
      ["DELETE", `/v1/files/${file.id}/links/${link.body.id}`, undefined],
      ["DELETE", `/v1/files/${own.id}/links/${link.body.id}`, undefined],
    ];
    for (const [method, path, json] of attempts) {
      const response = await api(path, { method, json, headers: as(stranger) });
      expect(response.status, `${method} ${path}: ${response.text}`).toBe(404);
      expectProblem(response, 404, "not_found");
    }
    // Ranges and conditionals learn nothing either.
    expectProblem(
      await api(`/v1/files/${file.id}/content`, { headers: { ...as(stranger), range: "bytes=0-0" } }),
      404,
      "not_found",
    );
    expectProblem(
      await api(`/v1/files/${file.id}/content`, { headers: { ...as(stranger), "if-none-match": "*" } }),
      404,
      "not_found",
    );
    // Same answer as a file that never existed.
    const missing = await api("/v1/files/file_01JD7X2YQZ8M4K6T3N5P9R2B7C", { headers: as(stranger) });
    expectProblem(missing, 404, "not_found");
    const seen = await api(`/v1/files/${file.id}`, { headers: as(stranger) });
    expect(seen.body).toMatchObject({ title: missing.body.title, detail: missing.body.detail });

    expect((await api(`/v1/files/${file.id}`, { headers: as(owner) })).body).toEqual(file);
    expect((await content(owner, file)).bytes).toEqual(samples.png);
    expect(await storageOf(owner.user.id)).toEqual(before.storage);
    expect(await storedObjects(owner.user.id)).toEqual(before.objects);
    expect(await env.DB.prepare("SELECT * FROM file_links WHERE file_id = ?").bind(file.id).all()).toEqual(
      expect.objectContaining({ results: before.links.results }),
    );
    const opened = await download(pathOf(link.body.url));
    expect(opened.status).toBe(200);
    expect(opened.bytes).toEqual(samples.png);
    expect((await api<FileList>("/v1/files", { headers: as(stranger) })).body.items.map((f) => f.id)).toEqual([own.id]);
  });
});
