import { env } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import { MAX_LINK_SECONDS } from "../../../src/modules/files/links";
import { sign } from "../../../src/modules/files/signing";
import { HOUR_MS, testClock } from "../../../src/platform/clock";
import { api, expectProblem } from "../../helpers/client";
import { download, pathOf, runCronAt, sized } from "../../helpers/downloads";
import { samples, upload } from "../../helpers/files";
import { as, type Registered, registerUser } from "../../helpers/identity";

/**
 * Signed download links: a URL that opens a file without credentials until it expires, is
 * revoked or its file is deleted; any change to it makes it a 404. Keys rotate: a link signed
 * with an older key of FILES_SIGNING_KEYS still opens.
 */

afterEach(() => testClock.reset());

const CSP = "default-src 'none'; sandbox";
const OLDER_KEY = { kid: "test-1", secret: "files-signing-secret-for-tests-number-one" };
const CURRENT_KEY = { kid: "test-2", secret: "files-signing-secret-for-tests-number-two" };

type Link = {
  id: string;
  fileId: string;
  disposition: "attachment" | "inline";
  url: string;
  createdBy: string;
  createdAt: string;
  expiresAt: string;
};

async function uploaded(user: Registered, bytes: Uint8Array, options: Parameters<typeof upload>[2] = {}) {
  const response = await upload(as(user), bytes, options);
  expect(response.status, response.text).toBe(201);
  return response.body;
}

const createLink = (user: Registered, fileId: string, json: Record<string, unknown>) =>
  api<Link>(`/v1/files/${fileId}/links`, { json, headers: as(user) });

async function linked(user: Registered, fileId: string, json: Record<string, unknown> = { expiresIn: 3600 }) {
  const response = await createLink(user, fileId, json);
  expect(response.status, response.text).toBe(201);
  return response.body;
}

/** Opens a link's URL as anyone would: no credentials. */
const open = (url: string, headers: Record<string, string> = {}) => download(pathOf(url), headers);

/** The URL with one query parameter (or the path) changed. */
function altered(url: string, change: { param?: [string, string]; path?: (path: string) => string }) {
  const copy = new URL(url);
  if (change.param) copy.searchParams.set(...change.param);
  if (change.path) copy.pathname = change.path(copy.pathname);
  return copy.toString();
}

/** A base64url character other than `char` whose 6 bits differ in the high ones too (a real change). */
const otherChar = (char: string) => (char === "A" ? "g" : "A");

const BASE64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
/** The same 256 bits, with the last character's 2 unused bits set: another string, not another signature. */
const unusedBits = (signature: string) =>
  `${signature.slice(0, 42)}${BASE64URL[BASE64URL.indexOf(signature[42] as string) | 1]}`;

async function expectGone(url: string, label: string) {
  const response = await api(pathOf(url));
  expect(response.status, `${label} opened (${response.headers.get("content-type")})`).toBe(404);
  expectProblem(response, 404, "not_found");
}

describe("POST /v1/files/:id/links", () => {
  it("201 with a URL that opens the file without credentials", async () => {
    const user = await registerUser();
    const bytes = sized(samples.pdf, 5000);
    const file = await uploaded(user, bytes, { name: "Rapport été.pdf", purpose: "document" });
    const before = Date.now();
    const link = await linked(user, file.id, { expiresIn: 3600, disposition: "attachment" });
    expect(link).toMatchObject({
      id: expect.stringMatching(/^lnk_/),
      fileId: file.id,
      disposition: "attachment",
      createdBy: user.user.id,
    });
    expect(link.url).toMatch(
      new RegExp(
        `^https://stratus\\.test/v1/files/${file.id}/links/${link.id}/content\\?expires=\\d+&disposition=attachment&kid=test-2&signature=[A-Za-z0-9_-]{43}$`,
      ),
    );
    const expiresAt = Date.parse(link.expiresAt);
    expect(expiresAt % 1000).toBe(0);
    expect(expiresAt).toBeGreaterThanOrEqual(Math.floor((before + 3600_000) / 1000) * 1000);
    expect(expiresAt).toBeLessThanOrEqual(Date.now() + 3600_000);
    expect(new URL(link.url).searchParams.get("expires")).toBe(String(expiresAt / 1000));

    const opened = await open(link.url);
    expect(opened.status, opened.text).toBe(200);
    expect(opened.bytes).toEqual(bytes);
    expect(Object.fromEntries(opened.headers)).toMatchObject({
      "content-type": "application/pdf",
      "content-disposition": `attachment; filename="Rapport _t_.pdf"; filename*=UTF-8''Rapport%20%C3%A9t%C3%A9.pdf`,
      "content-security-policy": CSP,
      "x-content-type-options": "nosniff",
      "cross-origin-resource-policy": "cross-origin",
      etag: `"${file.sha256}"`,
      "accept-ranges": "bytes",
    });
    expect(opened.headers.get("cache-control")).toBe("private, no-cache");
  });

  it("a link serves ranges and conditional requests as the API does", async () => {
    const user = await registerUser();
    const bytes = sized(samples.pdf, 1000);
    const file = await uploaded(user, bytes, { purpose: "document" });
    const link = await linked(user, file.id);
    const part = await open(link.url, { range: "bytes=10-19" });
    expect(part.status).toBe(206);
    expect(part.headers.get("content-range")).toBe("bytes 10-19/1000");
    expect(part.bytes).toEqual(bytes.slice(10, 20));
    const unchanged = await open(link.url, { "if-none-match": `"${file.sha256}"` });
    expect(unchanged.status).toBe(304);
    expect(unchanged.bytes).toEqual(new Uint8Array());
    const past = await api(pathOf(link.url), { headers: { range: "bytes=100000-" } });
    expectProblem(past, 416, "range_not_satisfiable");
    expect(past.headers.get("content-range")).toBe("bytes */1000");
  });

  it("is revalidated on every use, so a revoked link stops at once even in a browser's cache", async () => {
    const user = await registerUser();
    const file = await uploaded(user, samples.png, { purpose: "avatar" });
    const link = await linked(user, file.id, { expiresIn: 60 });
    const opened = await open(link.url);
    expect(opened.status).toBe(200);
    expect(opened.headers.get("cache-control")).toBe("private, no-cache");
    expect(opened.headers.get("etag")).toBe(`"${file.sha256}"`);
  });

  it("inline shows a raster image inline; a PDF, an SVG or HTML stay attachments", async () => {
    const user = await registerUser();
    const png = await uploaded(user, samples.png, { name: "photo.png", purpose: "avatar" });
    const inlinePng = await linked(user, png.id, { expiresIn: 3600, disposition: "inline" });
    expect(inlinePng.disposition).toBe("inline");
    expect(inlinePng.url).toContain("disposition=inline");
    const image = await open(inlinePng.url);
    expect(image.status).toBe(200);
    expect(image.headers.get("content-type")).toBe("image/png");
    expect(image.headers.get("content-disposition")).toBe(`inline; filename="photo.png"; filename*=UTF-8''photo.png`);
    expect(image.headers.get("content-security-policy")).toBe(CSP);
    expect(image.headers.get("x-content-type-options")).toBe("nosniff");

    for (const [bytes, name, type] of [
      [samples.pdf, "doc.pdf", "application/pdf"],
      [samples.svg, "logo.svg", "application/octet-stream"],
      [samples.html, "page.html", "application/octet-stream"],
    ] as const) {
      const file = await uploaded(user, bytes, { name, purpose: "attachment" });
      const link = await linked(user, file.id, { expiresIn: 3600, disposition: "inline" });
      const opened = await open(link.url);
      expect(opened.status, name).toBe(200);
      expect(opened.bytes, name).toEqual(bytes);
      expect(opened.headers.get("content-type"), name).toBe(type);
      expect(opened.headers.get("content-disposition"), name).toMatch(/^attachment;/);
      expect(opened.headers.get("content-security-policy"), name).toBe(CSP);
    }
  });

  it("defaults to attachment", async () => {
    const user = await registerUser();
    const file = await uploaded(user, samples.png, { purpose: "avatar" });
    const link = await linked(user, file.id, { expiresIn: 120 });
    expect(link.disposition).toBe("attachment");
    expect((await open(link.url)).headers.get("content-disposition")).toMatch(/^attachment;/);
  });

  it("refuses an expiry under a minute or over 7 days, and bodies it does not know: 400", async () => {
    const user = await registerUser();
    const file = await uploaded(user, samples.pdf, { purpose: "document" });
    for (const json of [
      { expiresIn: 59 },
      { expiresIn: MAX_LINK_SECONDS + 1 },
      { expiresIn: 604801 },
      { expiresIn: 0 },
      { expiresIn: -60 },
      { expiresIn: 3600.5 },
      { expiresIn: "3600" },
      {},
      { expiresIn: 3600, disposition: "embed" },
      { expiresIn: 3600, fileId: "file_x" },
    ]) {
      expectProblem(await createLink(user, file.id, json), 400, "validation_failed");
    }
    expect(
      await env.DB.prepare("SELECT count(*) AS n FROM file_links WHERE file_id = ?").bind(file.id).first("n"),
    ).toBe(0);
    // The bounds themselves are accepted.
    expect((await createLink(user, file.id, { expiresIn: 60 })).status).toBe(201);
    const week = await createLink(user, file.id, { expiresIn: 604800 });
    expect(week.status).toBe(201);
    expect(Date.parse(week.body.expiresAt) - Date.parse(week.body.createdAt)).toBeLessThanOrEqual(604800_000);
    expect(Date.parse(week.body.expiresAt) - Date.parse(week.body.createdAt)).toBeGreaterThan(604799_000);
  });

  it("a file has at most 100 links (expired ones count until purged)", async () => {
    const user = await registerUser();
    const file = await uploaded(user, samples.pdf, { purpose: "document" });
    const now = Date.now();
    const rows = Array.from({ length: 100 }, (_, i) =>
      env.DB.prepare(
        "INSERT INTO file_links (id, file_id, disposition, created_by, created_at, expires_at) VALUES (?, ?, 'attachment', ?, ?, ?)",
      ).bind(`lnk_FILL${String(i).padStart(4, "0")}`, file.id, user.user.id, now, now + (i % 2 ? HOUR_MS : -HOUR_MS)),
    );
    await env.DB.batch(rows);
    expectProblem(await createLink(user, file.id, { expiresIn: 3600 }), 409, "conflict");
    await runCronAt(now);
    expect((await createLink(user, file.id, { expiresIn: 3600 })).status).toBe(201);
  });
});

describe("opening a link", () => {
  it("any change to the URL makes it a 404: signature, expiry, disposition, kid, file, link", async () => {
    const user = await registerUser();
    const png = await uploaded(user, samples.png, { name: "p.png", purpose: "avatar" });
    const other = await uploaded(user, samples.jpeg, { name: "q.jpg", purpose: "avatar" });
    const link = await linked(user, png.id, { expiresIn: 3600, disposition: "attachment" });
    const otherLink = await linked(user, other.id, { expiresIn: 3600, disposition: "attachment" });
    const url = new URL(link.url);
    const signature = url.searchParams.get("signature") as string;
    const expires = Number(url.searchParams.get("expires"));
    const flip = (at: number) =>
      `${signature.slice(0, at)}${otherChar(signature[at] as string)}${signature.slice(at + 1)}`;

    const tampered: [string, string][] = [
      ["the signature's first character", altered(link.url, { param: ["signature", flip(0)] })],
      ["the signature's middle character", altered(link.url, { param: ["signature", flip(21)] })],
      ["the signature's last character", altered(link.url, { param: ["signature", flip(42)] })],
      // 43 characters carry 258 bits for 256: the last one's 2 low bits are no part of the signature.
      [
        "the signature's last character, in its unused bits",
        altered(link.url, { param: ["signature", unusedBits(signature)] }),
      ],
      ["a truncated signature", altered(link.url, { param: ["signature", signature.slice(0, 42)] })],
      ["a padded signature", altered(link.url, { param: ["signature", `${signature}=`] })],
      [
        "the other link's signature",
        altered(link.url, { param: ["signature", new URL(otherLink.url).searchParams.get("signature") as string] }),
      ],
      ["a later expiry", altered(link.url, { param: ["expires", String(expires + 1)] })],
      ["a much later expiry", altered(link.url, { param: ["expires", String(expires + 30 * 86400)] })],
      ["an earlier expiry", altered(link.url, { param: ["expires", String(expires - 1)] })],
      ["inline for attachment", altered(link.url, { param: ["disposition", "inline"] })],
      ["the older key's kid", altered(link.url, { param: ["kid", OLDER_KEY.kid] })],
      ["an unknown kid", altered(link.url, { param: ["kid", "test-9"] })],
      ["another file of the account", altered(link.url, { path: (path) => path.replace(png.id, other.id) })],
      ["another link of the account", altered(link.url, { path: (path) => path.replace(link.id, otherLink.id) })],
    ];
    for (const [label, url] of tampered) await expectGone(url, label);
    // The untouched URL still opens.
    const opened = await open(link.url);
    expect(opened.status).toBe(200);
    expect(opened.bytes).toEqual(samples.png);
  });

  it("a signature of the truth about another file is still no way to this link", async () => {
    const user = await registerUser();
    const mine = await uploaded(user, samples.png, { purpose: "avatar" });
    const victim = await registerUser();
    const theirs = await uploaded(victim, samples.pdf, { purpose: "document" });
    const link = await linked(user, mine.id, { expiresIn: 3600, disposition: "attachment" });
    const expires = Date.parse(link.expiresAt) / 1000;
    // Properly signed claims (as if the key leaked) naming another account's file with this link's id:
    // the link's row belongs to another file, so nothing opens.
    const forged = await sign([CURRENT_KEY], {
      fileId: theirs.id,
      linkId: link.id,
      expires,
      disposition: "attachment",
    });
    const query = new URLSearchParams({ expires: String(expires), disposition: "attachment", ...forged });
    await expectGone(`https://stratus.test/v1/files/${theirs.id}/links/${link.id}/content?${query}`, "swapped file");
    // And the disposition a row does not have, signed, is refused too.
    const inline = await sign([CURRENT_KEY], { fileId: mine.id, linkId: link.id, expires, disposition: "inline" });
    const inlineQuery = new URLSearchParams({ expires: String(expires), disposition: "inline", ...inline });
    await expectGone(`https://stratus.test/v1/files/${mine.id}/links/${link.id}/content?${inlineQuery}`, "inline");
    // And a later expiry, signed, than the row's.
    const later = await sign([CURRENT_KEY], {
      fileId: mine.id,
      linkId: link.id,
      expires: expires + 60,
      disposition: "attachment",
    });
    const laterQuery = new URLSearchParams({ expires: String(expires + 60), disposition: "attachment", ...later });
    await expectGone(`https://stratus.test/v1/files/${mine.id}/links/${link.id}/content?${laterQuery}`, "later");
  });

  it("a malformed link is refused without opening anything", async () => {
    const user = await registerUser();
    const file = await uploaded(user, samples.png, { purpose: "avatar" });
    const link = await linked(user, file.id);
    const url = new URL(link.url);
    for (const name of ["expires", "disposition", "kid", "signature"]) {
      const copy = new URL(url);
      copy.searchParams.delete(name);
      expectProblem(await api(pathOf(copy.toString())), 400, "validation_failed");
    }
    const extra = new URL(url);
    extra.searchParams.set("download", "1");
    expectProblem(await api(pathOf(extra.toString())), 400, "validation_failed");
    for (const [name, value] of [
      ["expires", "soon"],
      ["expires", "-5"],
      ["disposition", "embed"],
      ["signature", "x".repeat(129)],
    ] as const) {
      expectProblem(await api(pathOf(altered(link.url, { param: [name, value] }))), 400, "validation_failed");
    }
    expect((await open(link.url)).status).toBe(200);
  });

  it("expires: a 404 once its time has passed", async () => {
    const user = await registerUser();
    const file = await uploaded(user, samples.pdf, { purpose: "document" });
    const link = await linked(user, file.id, { expiresIn: 60 });
    testClock.advance(30_000);
    expect((await open(link.url)).status).toBe(200);
    testClock.advance(31_000);
    await expectGone(link.url, "expired");
    // Nor is it listed any more; a new link works.
    const listed = await api<{ items: Link[] }>(`/v1/files/${file.id}/links`, { headers: as(user) });
    expect(listed.body.items).toEqual([]);
  });

  it("revoked: DELETE /v1/files/:id/links/:linkId is 204, then the link is a 404", async () => {
    const user = await registerUser();
    const file = await uploaded(user, samples.pdf, { purpose: "document" });
    const link = await linked(user, file.id);
    const kept = await linked(user, file.id);
    const revoked = await api(`/v1/files/${file.id}/links/${link.id}`, { method: "DELETE", headers: as(user) });
    expect(revoked.status, revoked.text).toBe(204);
    expect(revoked.text).toBe("");
    await expectGone(link.url, "revoked");
    expect((await open(kept.url)).status).toBe(200);
    expectProblem(
      await api(`/v1/files/${file.id}/links/${link.id}`, { method: "DELETE", headers: as(user) }),
      404,
      "not_found",
    );
    // A link of one file cannot be revoked through another.
    const other = await uploaded(user, samples.png, { purpose: "avatar" });
    expectProblem(
      await api(`/v1/files/${other.id}/links/${kept.id}`, { method: "DELETE", headers: as(user) }),
      404,
      "not_found",
    );
    expect((await open(kept.url)).status).toBe(200);
  });

  it("dies with its file", async () => {
    const user = await registerUser();
    const file = await uploaded(user, samples.pdf, { purpose: "document" });
    const first = await linked(user, file.id);
    const second = await linked(user, file.id, { expiresIn: 7200, disposition: "inline" });
    expect((await api(`/v1/files/${file.id}`, { method: "DELETE", headers: as(user) })).status).toBe(204);
    await expectGone(first.url, "first");
    await expectGone(second.url, "second");
    expect(
      await env.DB.prepare("SELECT count(*) AS n FROM file_links WHERE file_id = ?").bind(file.id).first("n"),
    ).toBe(0);
  });
});

describe("GET /v1/files/:id/links", () => {
  it("lists the live links, newest first, each URL as it was answered", async () => {
    const user = await registerUser();
    const file = await uploaded(user, samples.png, { purpose: "avatar" });
    const short = await linked(user, file.id, { expiresIn: 60 });
    testClock.advance(1000);
    const revoked = await linked(user, file.id, { expiresIn: 3600 });
    testClock.advance(1000);
    const attachment = await linked(user, file.id, { expiresIn: 3600 });
    testClock.advance(1000);
    const inline = await linked(user, file.id, { expiresIn: 7200, disposition: "inline" });
    expect(
      (await api(`/v1/files/${file.id}/links/${revoked.id}`, { method: "DELETE", headers: as(user) })).status,
    ).toBe(204);
    const listed = await api<{ items: Link[] }>(`/v1/files/${file.id}/links`, { headers: as(user) });
    expect(listed.status, listed.text).toBe(200);
    expect(listed.body.items.map((link) => link.id)).toEqual([inline.id, attachment.id, short.id]);
    expect(listed.body.items[0]).toEqual(inline);
    for (const link of listed.body.items) expect((await open(link.url)).status).toBe(200);

    testClock.advance(60_000);
    const later = await api<{ items: Link[] }>(`/v1/files/${file.id}/links`, { headers: as(user) });
    expect(later.body.items.map((link) => link.id)).toEqual([inline.id, attachment.id]);
  });

  it("answers an empty list for a file without links, 404 for no file", async () => {
    const user = await registerUser();
    const file = await uploaded(user, samples.png, { purpose: "avatar" });
    expect((await api(`/v1/files/${file.id}/links`, { headers: as(user) })).body).toEqual({ items: [] });
    expectProblem(
      await api("/v1/files/file_01JD7X2YQZ8M4K6T3N5P9R2B7C/links", { headers: as(user) }),
      404,
      "not_found",
    );
  });
});

describe("key rotation", () => {
  it("a URL signed with the older key still opens; one signed with a key no longer configured does not", async () => {
    const user = await registerUser();
    const file = await uploaded(user, samples.png, { name: "rotated.png", purpose: "avatar" });
    const link = await linked(user, file.id, { expiresIn: 3600, disposition: "inline" });
    expect(new URL(link.url).searchParams.get("kid")).toBe(CURRENT_KEY.kid);
    const claims = {
      fileId: file.id,
      linkId: link.id,
      expires: Date.parse(link.expiresAt) / 1000,
      disposition: "inline" as const,
    };
    // The URL as it was issued when test-1 was the current key.
    const old = await sign([OLDER_KEY, CURRENT_KEY], claims);
    expect(old.kid).toBe(OLDER_KEY.kid);
    const oldUrl = altered(altered(link.url, { param: ["kid", old.kid] }), { param: ["signature", old.signature] });
    expect(oldUrl).not.toBe(link.url);
    const opened = await open(oldUrl);
    expect(opened.status, opened.text).toBe(200);
    expect(opened.bytes).toEqual(samples.png);
    expect(opened.headers.get("content-disposition")).toMatch(/^inline;/);

    // A retired key (no longer in FILES_SIGNING_KEYS), however valid its signature once was.
    const retired = await sign([{ kid: "test-0", secret: "files-signing-secret-for-tests-number-zero" }], claims);
    await expectGone(
      altered(altered(link.url, { param: ["kid", retired.kid] }), { param: ["signature", retired.signature] }),
      "retired key",
    );
    // The older kid with a signature made by another secret.
    const impostor = await sign([{ kid: OLDER_KEY.kid, secret: "an-attacker-s-own-secret-of-32-characters" }], claims);
    await expectGone(
      altered(altered(link.url, { param: ["kid", impostor.kid] }), { param: ["signature", impostor.signature] }),
      "impostor",
    );
  });
});

describe("the purge cron", () => {
  it("deletes expired link rows, and only those", async () => {
    const user = await registerUser();
    const file = await uploaded(user, samples.pdf, { purpose: "document" });
    const short = await linked(user, file.id, { expiresIn: 60 });
    const long = await linked(user, file.id, { expiresIn: 3600 });
    const ids = async () =>
      (
        await env.DB.prepare("SELECT id FROM file_links WHERE file_id = ? ORDER BY id")
          .bind(file.id)
          .all<{ id: string }>()
      ).results.map((row) => row.id);
    expect(await ids()).toEqual([short.id, long.id].sort());

    await runCronAt(Date.now());
    expect(await ids()).toEqual([short.id, long.id].sort());
    await runCronAt(Date.now() + 2 * 60_000);
    expect(await ids()).toEqual([long.id]);
    expect((await open(long.url)).status).toBe(200);
    await runCronAt(Date.now() + 2 * HOUR_MS);
    expect(await ids()).toEqual([]);
    // The file itself stays.
    expect((await api(`/v1/files/${file.id}`, { headers: as(user) })).status).toBe(200);
  });
});
