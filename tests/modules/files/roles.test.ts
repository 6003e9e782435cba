import { describe, expect, it } from "vitest";
import { api, expectProblem } from "../../helpers/client";
import { download } from "../../helpers/downloads";
import { samples, storageOf, storedObjects, upload } from "../../helpers/files";
import { as } from "../../helpers/identity";
import { type Cast, expectMatrix, type Role, roleMatrix } from "../../helpers/roles";

/**
 * Org files by role: every member reads them (and keys with `files:read`); their uploader, and
 * the org's owners and admins (and the owner's keys with `files:write`), change and delete
 * them; anyone else finds nothing (404).
 */

type Stored = { id: string; name: string; accountId: string; uploadedBy: string };

/** A file of the org, uploaded by `role` with X-Stratus-Org. */
async function orgFile(cast: Cast, role: Role = "owner", name = "plan.pdf") {
  const response = await upload(cast.headersOf(role), samples.pdf, { name, purpose: "document" });
  expect(response.status, response.text).toBe(201);
  return response.body as Stored;
}

const READERS = {
  owner: 200,
  admin: 200,
  member: 200,
  outsider: [404, "not_found"],
  keyWithScope: 200,
  keyWithoutScope: [403, "forbidden"],
} as const;

describe("reading an org's files", () => {
  it("list, metadata and content: every member and a files:read key; outsiders 404; other keys 403", async () => {
    const cast = await roleMatrix({ scope: "files:read" });
    const file = await orgFile(cast);
    expect(file.accountId).toBe(cast.org.id);
    expect(file.uploadedBy).toBe(cast.owner.user.id);

    const lists = await expectMatrix<{ items: Stored[] }>(cast, { path: "/v1/files" }, READERS);
    for (const role of ["owner", "admin", "member", "keyWithScope"] as const) {
      expect(
        lists[role].body.items.map((item) => item.id),
        role,
      ).toEqual([file.id]);
    }
    const got = await expectMatrix<Stored>(cast, { path: `/v1/files/${file.id}` }, READERS);
    expect(got.member.body).toMatchObject({ id: file.id, accountId: cast.org.id });

    // As bytes (not text): a PDF does not survive decoding.
    const bytes: Partial<Record<Role, Uint8Array>> = {};
    await expectMatrix(
      cast,
      async (headers, role) => {
        const { bytes: body, ...response } = await download(`/v1/files/${file.id}/content`, headers);
        bytes[role] = body;
        const problem = response.headers.get("content-type")?.startsWith("application/problem+json");
        return { ...response, body: (problem ? JSON.parse(response.text) : {}) as Record<string, unknown> };
      },
      READERS,
    );
    for (const role of ["owner", "admin", "member", "keyWithScope"] as const) {
      expect(bytes[role], role).toEqual(samples.pdf);
    }

    await expectMatrix(cast, { path: `/v1/files/${file.id}/links` }, READERS);
  });

  it("an org's file is not its members' own, nor their own files the org's", async () => {
    const cast = await roleMatrix({ scope: "files:read" });
    const file = await orgFile(cast);
    const personal = await upload(as(cast.member), samples.png, { name: "me.png", purpose: "avatar" });
    expect(personal.status).toBe(201);
    // Without X-Stratus-Org, the org's file is nowhere.
    expectProblem(await api(`/v1/files/${file.id}`, { headers: as(cast.owner) }), 404, "not_found");
    expectProblem(await api(`/v1/files/${file.id}/content`, { headers: as(cast.member) }), 404, "not_found");
    expect((await api<{ items: Stored[] }>("/v1/files", { headers: as(cast.owner) })).body.items).toEqual([]);
    // With it, the member's personal file is nowhere, even to the org's owner.
    expectProblem(await api(`/v1/files/${personal.body.id}`, { headers: cast.headersOf("owner") }), 404, "not_found");
    expectProblem(await api(`/v1/files/${personal.body.id}`, { headers: cast.headersOf("member") }), 404, "not_found");
    // The outsider, on their own org or account, finds nothing either.
    const theirs = { ...as(cast.outsider), "x-stratus-org": cast.outsiderOrg.id };
    expectProblem(await api(`/v1/files/${file.id}`, { headers: theirs }), 404, "not_found");
    expectProblem(await api(`/v1/files/${file.id}`, { headers: as(cast.outsider) }), 404, "not_found");
  });
});

describe("changing an org's files", () => {
  it("PATCH another's file: owner and admin (and a files:write key), not a member (403), not an outsider (404)", async () => {
    const cast = await roleMatrix({ scope: "files:write" });
    const file = await orgFile(cast);
    const renamed = await expectMatrix<Stored>(
      cast,
      (headers, role) => api(`/v1/files/${file.id}`, { method: "PATCH", json: { name: `by ${role}.pdf` }, headers }),
      {
        owner: 200,
        admin: 200,
        member: [403, "forbidden"],
        outsider: [404, "not_found"],
        keyWithScope: 200,
        keyWithoutScope: [403, "forbidden"],
      },
    );
    expect(renamed.admin.body.name).toBe("by admin.pdf");
    const now = await api<Stored>(`/v1/files/${file.id}`, { headers: cast.headersOf("owner") });
    expect(now.body.name).toBe("by keyWithScope.pdf");
  });

  it("DELETE another's file: owner and admin (and a files:write key), not a member (403), not an outsider (404)", async () => {
    const cast = await roleMatrix({ scope: "files:write" });
    const files: Partial<Record<Role, Stored>> = {};
    await expectMatrix(
      cast,
      async (headers, role) => {
        const file = await orgFile(cast, "owner", `for ${role}.pdf`);
        files[role] = file;
        return api(`/v1/files/${file.id}`, { method: "DELETE", headers });
      },
      {
        owner: 204,
        admin: 204,
        member: [403, "forbidden"],
        outsider: [404, "not_found"],
        keyWithScope: 204,
        keyWithoutScope: [403, "forbidden"],
      },
    );
    // Exactly the refused ones' files are left, and their bytes still counted.
    const left = await api<{ items: Stored[] }>("/v1/files", { headers: cast.headersOf("owner") });
    expect(left.body.items.map((item) => item.name).sort()).toEqual(
      ["for keyWithoutScope.pdf", "for member.pdf", "for outsider.pdf"].sort(),
    );
    expect(await storageOf(cast.org.id)).toEqual({ used: 3 * samples.pdf.byteLength, pending: 0 });
    expect((await storedObjects(cast.org.id)).sort()).toEqual(
      (["member", "outsider", "keyWithoutScope"] as const)
        .map((role) => `accounts/${cast.org.id}/files/${files[role]?.id}`)
        .sort(),
    );
  });

  it("a member renames, shares and deletes a file they uploaded themselves", async () => {
    const cast = await roleMatrix({ scope: "files:write" });
    const own = await orgFile(cast, "member", "mine.pdf");
    expect(own.uploadedBy).toBe(cast.member.user.id);
    const member = cast.headersOf("member");
    const renamed = await api(`/v1/files/${own.id}`, { method: "PATCH", json: { name: "ours.pdf" }, headers: member });
    expect(renamed.status, renamed.text).toBe(200);
    const link = await api<{ id: string }>(`/v1/files/${own.id}/links`, { json: { expiresIn: 600 }, headers: member });
    expect(link.status, link.text).toBe(201);
    expect((await api(`/v1/files/${own.id}/links/${link.body.id}`, { method: "DELETE", headers: member })).status).toBe(
      204,
    );
    const deleted = await api(`/v1/files/${own.id}`, { method: "DELETE", headers: member });
    expect(deleted.status, deleted.text).toBe(204);
    expectProblem(await api(`/v1/files/${own.id}`, { headers: member }), 404, "not_found");
    expect(await storageOf(cast.org.id)).toEqual({ used: 0, pending: 0 });
    expect(await storedObjects(cast.org.id)).toEqual([]);
  });

  it("an admin deletes a member's file; a member cannot touch another member's", async () => {
    const cast = await roleMatrix({ scope: "files:write" });
    const membersFile = await orgFile(cast, "member", "m.pdf");
    const adminsFile = await orgFile(cast, "admin", "a.pdf");
    expectProblem(
      await api(`/v1/files/${adminsFile.id}`, { method: "DELETE", headers: cast.headersOf("member") }),
      403,
      "forbidden",
    );
    expect(
      (await api(`/v1/files/${membersFile.id}`, { method: "DELETE", headers: cast.headersOf("admin") })).status,
    ).toBe(204);
  });

  it("links: a member may list them, but not create or revoke them on another's file", async () => {
    const cast = await roleMatrix({ scope: "files:write" });
    const file = await orgFile(cast);
    const link = await api<{ id: string }>(`/v1/files/${file.id}/links`, {
      json: { expiresIn: 600 },
      headers: cast.headersOf("owner"),
    });
    expect(link.status, link.text).toBe(201);
    await expectMatrix(
      cast,
      { path: `/v1/files/${file.id}/links`, method: "POST", json: { expiresIn: 600 } },
      {
        owner: 201,
        admin: 201,
        member: [403, "forbidden"],
        outsider: [404, "not_found"],
        keyWithScope: 201,
        keyWithoutScope: [403, "forbidden"],
      },
    );
    expectProblem(
      await api(`/v1/files/${file.id}/links/${link.body.id}`, { method: "DELETE", headers: cast.headersOf("member") }),
      403,
      "forbidden",
    );
    expectProblem(
      await api(`/v1/files/${file.id}/links/${link.body.id}`, {
        method: "DELETE",
        headers: cast.headersOf("outsider"),
      }),
      404,
      "not_found",
    );
    const listed = await api<{ items: { id: string }[] }>(`/v1/files/${file.id}/links`, {
      headers: cast.headersOf("member"),
    });
    expect(listed.status).toBe(200);
    expect(listed.body.items).toHaveLength(4);
    expect(listed.body.items.map((item) => item.id)).toContain(link.body.id);
  });
});

describe("uploading to an org", () => {
  it("every member may upload; a key needs files:write (a files:read key is 403); outsiders 404", async () => {
    const cast = await roleMatrix({ scope: "files:read" });
    const uploads = await expectMatrix<Stored>(
      cast,
      (headers, role) => upload(headers, samples.pdf, { name: `${role}.pdf`, purpose: "document" }),
      {
        owner: 201,
        admin: 201,
        member: 201,
        outsider: [404, "not_found"],
        keyWithScope: [403, "forbidden"],
        keyWithoutScope: [403, "forbidden"],
      },
    );
    expect(uploads.member.body).toMatchObject({ accountId: cast.org.id, uploadedBy: cast.member.user.id });
    expect(await storedObjects(cast.org.id)).toHaveLength(3);
    expect(await storageOf(cast.org.id)).toEqual({ used: 3 * samples.pdf.byteLength, pending: 0 });
    // The outsider's refused upload went nowhere: not their org, not their account.
    expect(await storedObjects(cast.outsiderOrg.id)).toEqual([]);
    expect(await storedObjects(cast.outsider.user.id)).toEqual([]);
  });

  it("a files:write key uploads for the org", async () => {
    const cast = await roleMatrix({ scope: "files:write" });
    const response = await upload(cast.headersOf("keyWithScope"), samples.pdf, { purpose: "document" });
    expect(response.status, response.text).toBe(201);
    expect(response.body.accountId).toBe(cast.org.id);
    // A files:write key does not read (the scopes are separate).
    expectProblem(
      await api(`/v1/files/${response.body.id}`, { headers: cast.headersOf("keyWithScope") }),
      403,
      "forbidden",
    );
  });
});
