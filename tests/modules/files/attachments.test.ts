import { env } from "cloudflare:test";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { attachFile, fileReadersPort } from "../../../src/modules/files/api";
import { api, expectProblem } from "../../helpers/client";
import { samples, upload } from "../../helpers/files";
import { as, registerUser } from "../../helpers/identity";

/** A stand-in for a module that owns resources (learning's submissions): it lets `allowed` read them. */
const allowed = new Set<string>();
beforeEach(() => {
  allowed.clear();
  fileReadersPort.wire({
    "test.submission": async (_env, userId, resourceId) => allowed.has(`${userId}:${resourceId}`),
  });
});
afterEach(() => fileReadersPort.wire({}));

describe("attached files", () => {
  it("are read by whoever the owning module allows, and changed only by their own account", async () => {
    const student = await registerUser();
    const teacher = await registerUser();
    const stranger = await registerUser();
    const file = await upload(as(student), samples.pdf, { name: "essay.pdf", purpose: "submission" });
    expect(file.status, file.text).toBe(201);
    expectProblem(await api(`/v1/files/${file.body.id}`, { headers: as(teacher) }), 404, "not_found");

    expect(
      await attachFile(env, {
        fileId: file.body.id,
        accountId: student.user.id,
        kind: "test.submission",
        resourceId: "sub_1",
      }),
    ).toBe(true);
    allowed.add(`${teacher.user.id}:sub_1`);
    const seen = await api(`/v1/files/${file.body.id}`, { headers: as(teacher) });
    expect(seen.status, seen.text).toBe(200);
    expect(seen.body.attachedTo).toEqual({ kind: "test.submission", id: "sub_1" });
    const content = await api(`/v1/files/${file.body.id}/content`, { headers: as(teacher) });
    expect(content.status).toBe(200);
    expect(content.text).toBe(new TextDecoder().decode(samples.pdf));

    expectProblem(await api(`/v1/files/${file.body.id}`, { headers: as(stranger) }), 404, "not_found");
    expectProblem(await api(`/v1/files/${file.body.id}`, { method: "DELETE", headers: as(teacher) }), 404, "not_found");
    expectProblem(
      await api(`/v1/files/${file.body.id}`, { method: "PATCH", json: { name: "mine.pdf" }, headers: as(teacher) }),
      404,
      "not_found",
    );
    expectProblem(await api(`/v1/files/${file.body.id}/links`, { headers: as(teacher) }), 404, "not_found");
    expectProblem(
      await api(`/v1/files/${file.body.id}/links`, { json: { expiresIn: 60 }, headers: as(teacher) }),
      404,
      "not_found",
    );
    // Not in the teacher's own list: the file is the student's.
    expect((await api<{ items: unknown[] }>("/v1/files", { headers: as(teacher) })).body.items).toEqual([]);
    allowed.clear();
    expectProblem(await api(`/v1/files/${file.body.id}`, { headers: as(teacher) }), 404, "not_found");
    expect((await api(`/v1/files/${file.body.id}`, { method: "DELETE", headers: as(student) })).status).toBe(204);
  });

  it("attach once, only a file of the given account, only to a kind some module reads", async () => {
    const student = await registerUser();
    const other = await registerUser();
    const file = await upload(as(student), samples.pdf, { purpose: "submission" });
    const attachment = {
      fileId: file.body.id,
      accountId: student.user.id,
      kind: "test.submission",
      resourceId: "sub_2",
    };
    expect(await attachFile(env, { ...attachment, accountId: other.user.id })).toBe(false);
    expect(await attachFile(env, attachment)).toBe(true);
    expect(await attachFile(env, { ...attachment, resourceId: "sub_3" })).toBe(false);
    await expect(attachFile(env, { ...attachment, kind: "nobody.reads" })).rejects.toThrow(/no file reader/);
  });
});
