import { env } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import { DAY_MS, HOUR_MS, testClock } from "../../../src/platform/clock";
import { api, expectProblem } from "../../helpers/client";
import { runCronAt, sha256Hex, sized } from "../../helpers/downloads";
import { samples, storageOf, storedObjects } from "../../helpers/files";
import { as, type Registered, registerUser } from "../../helpers/identity";
import { createOrg, join, onPlan, verified } from "../../helpers/orgs";

const MiB = 1024 * 1024;
const PART = 8 * MiB;

afterEach(() => testClock.reset());

type Session = {
  id: string;
  fileId: string;
  partSize: number;
  partCount: number;
  parts: { number: number; etag: string }[];
};

async function start(user: Registered, body: Record<string, unknown>) {
  return api<Session>("/v1/files/uploads", { json: body, headers: as(user) });
}

const putPart = (
  user: Registered,
  id: string,
  number: number,
  bytes: Uint8Array,
  headers: Record<string, string> = {},
) =>
  api<{ number: number; etag: string; size: number }>(`/v1/files/uploads/${id}/parts/${number}`, {
    method: "PUT",
    body: bytes,
    headers: { ...as(user), "content-type": "application/octet-stream", ...headers },
  });

const partOf = (bytes: Uint8Array, number: number) => bytes.subarray((number - 1) * PART, number * PART);

async function premiumUser() {
  const user = await registerUser();
  await onPlan(user.user.id, "premium");
  return user;
}

describe("resumable uploads", () => {
  it("parts in parallel and out of order make the file; its hash follows", { timeout: 60_000 }, async () => {
    const user = await premiumUser();
    const bytes = sized(samples.pdf, 2 * PART + 1000);
    const started = await start(user, {
      name: "thesis.pdf",
      size: bytes.byteLength,
      type: "application/pdf",
      purpose: "document",
    });
    expect(started.status, started.text).toBe(201);
    expect(started.body).toMatchObject({ partSize: PART, partCount: 3, parts: [] });
    expect(await storageOf(user.user.id)).toEqual({ used: bytes.byteLength, pending: 1 });
    const parts = await Promise.all(
      [3, 1, 2].map((number) => putPart(user, started.body.id, number, partOf(bytes, number))),
    );
    for (const part of parts) expect(part.status, part.text).toBe(200);
    const resumed = await api<Session>(`/v1/files/uploads/${started.body.id}`, { headers: as(user) });
    expect(resumed.body.parts.map((part) => part.number)).toEqual([1, 2, 3]);
    const completed = await api<{ id: string; sha256: string | null; size: number; contentType: string }>(
      `/v1/files/uploads/${started.body.id}/complete`,
      { json: { parts: parts.map((part) => ({ number: part.body.number, etag: part.body.etag })) }, headers: as(user) },
    );
    expect(completed.status, completed.text).toBe(201);
    expect(completed.body).toMatchObject({
      id: started.body.fileId,
      size: bytes.byteLength,
      contentType: "application/pdf",
    });
    expect(await storageOf(user.user.id)).toEqual({ used: bytes.byteLength, pending: 0 });
    const object = await env.FILES.get(`accounts/${user.user.id}/files/${started.body.fileId}`);
    expect(new Uint8Array(await (object as R2ObjectBody).arrayBuffer())).toEqual(bytes);
    // The follow-up task reads the object once and records its hash.
    const expected = await sha256Hex(bytes);
    let hash: string | null = null;
    for (let i = 0; i < 100 && hash === null; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      hash = (await api<{ sha256: string | null }>(`/v1/files/${started.body.fileId}`, { headers: as(user) })).body
        .sha256;
    }
    expect(hash).toBe(expected);
    expect((await api(`/v1/files/uploads/${started.body.id}`, { headers: as(user) })).status).toBe(404);
  });

  it("refuses parts of the wrong size or number, and a complete that misses a part or an etag", {
    timeout: 30_000,
  }, async () => {
    const user = await premiumUser();
    const bytes = sized(samples.pdf, PART + 10);
    const started = await start(user, { name: "two.pdf", size: bytes.byteLength, purpose: "document" });
    const id = started.body.id;
    expectProblem(await putPart(user, id, 1, bytes.subarray(0, PART - 1)), 400, "validation_failed");
    expectProblem(await putPart(user, id, 2, bytes.subarray(PART - 1)), 400, "validation_failed");
    expectProblem(await putPart(user, id, 0, bytes.subarray(0, 10)), 400, "validation_failed");
    expectProblem(await putPart(user, id, 3, bytes.subarray(0, 10)), 400, "validation_failed");
    const first = await putPart(user, id, 1, partOf(bytes, 1));
    expect(first.status, first.text).toBe(200);
    const missing = await api(`/v1/files/uploads/${id}/complete`, {
      json: { parts: [{ number: 1, etag: first.body.etag }] },
      headers: as(user),
    });
    expect(expectProblem(missing, 400, "validation_failed").errors).toContainEqual({
      path: "body.parts",
      message: "part 2 is missing",
    });
    const last = await putPart(user, id, 2, bytes.subarray(PART));
    const wrongEtag = await api(`/v1/files/uploads/${id}/complete`, {
      json: {
        parts: [
          { number: 1, etag: first.body.etag },
          { number: 2, etag: "not-it" },
        ],
      },
      headers: as(user),
    });
    expectProblem(wrongEtag, 400, "validation_failed");
    const twice = await api(`/v1/files/uploads/${id}/complete`, {
      json: {
        parts: [
          { number: 1, etag: first.body.etag },
          { number: 1, etag: first.body.etag },
          { number: 2, etag: last.body.etag },
        ],
      },
      headers: as(user),
    });
    expectProblem(twice, 400, "validation_failed");
    expect(await storedObjects(user.user.id)).toEqual([]);
  });

  it("refuses a first part whose bytes are not what the purpose takes (415), storing nothing of it", async () => {
    const user = await premiumUser();
    const started = await start(user, {
      name: "me.png",
      size: samples.html.byteLength,
      type: "image/png",
      purpose: "avatar",
    });
    expectProblem(await putPart(user, started.body.id, 1, samples.html), 415, "unsupported_media_type");
    expect((await api<Session>(`/v1/files/uploads/${started.body.id}`, { headers: as(user) })).body.parts).toEqual([]);
    expect(await storedObjects(user.user.id)).toEqual([]);
  });

  it("refuses a start past the plan's upload limit, past the quota, or with a part size out of range", async () => {
    const user = await registerUser();
    expectProblem(
      await start(user, { name: "big.pdf", size: 10 * MiB + 1, purpose: "document" }),
      413,
      "payload_too_large",
    );
    const premium = await premiumUser();
    expectProblem(
      await start(premium, { name: "a.pdf", size: 20 * MiB, purpose: "document", partSize: MiB }),
      400,
      "validation_failed",
    );
    expectProblem(
      await start(premium, { name: "a.pdf", size: 20 * MiB, purpose: "document", partSize: 96 * MiB }),
      400,
      "validation_failed",
    );
    expectProblem(
      await start(premium, { name: "../a.pdf", size: 20 * MiB, purpose: "document" }),
      400,
      "validation_failed",
    );
    expectProblem(
      await start(premium, { name: "half\uD800.pdf", size: 20 * MiB, purpose: "document" }),
      400,
      "validation_failed",
    );
    await env.DB.prepare("INSERT INTO storage_usage (account_id, used, limit_value) VALUES (?, ?, ?)")
      .bind(premium.user.id, 10737418240 - MiB, 10737418240)
      .run();
    expectProblem(
      await start(premium, { name: "a.pdf", size: 2 * MiB, purpose: "document" }),
      403,
      "storage_quota_exceeded",
    );
    expect(await storageOf(premium.user.id)).toEqual({ used: 10737418240 - MiB, pending: 0 });
  });

  it("in an org: a member carries on only the uploads they started; owners and admins any", async () => {
    const owner = await verified();
    const member = await verified();
    const org = await createOrg(owner, "Uploads Inc");
    await onPlan(org.id, "premium");
    await join(org, owner, member, "member");
    const inOrg = (user: Registered) => ({ ...as(user), "x-stratus-org": org.id });
    const started = await api<Session>("/v1/files/uploads", {
      json: { name: "a.pdf", size: samples.pdf.byteLength, purpose: "document" },
      headers: inOrg(owner),
    });
    expect(started.status, started.text).toBe(201);
    const part = (user: Registered) =>
      api(`/v1/files/uploads/${started.body.id}/parts/1`, { method: "PUT", body: samples.pdf, headers: inOrg(user) });
    expectProblem(await part(member), 403, "forbidden");
    expectProblem(
      await api(`/v1/files/uploads/${started.body.id}`, { method: "DELETE", headers: inOrg(member) }),
      403,
      "forbidden",
    );
    expect((await part(owner)).status).toBe(200);
  });

  it("an abort gives the storage back; the upload is gone", async () => {
    const user = await premiumUser();
    const started = await start(user, { name: "a.pdf", size: 20 * MiB, purpose: "document" });
    expect((await api(`/v1/files/uploads/${started.body.id}`, { method: "DELETE", headers: as(user) })).status).toBe(
      204,
    );
    expect(await storageOf(user.user.id)).toEqual({ used: 0, pending: 0 });
    expectProblem(await api(`/v1/files/uploads/${started.body.id}`, { headers: as(user) }), 404, "not_found");
  });

  it("another account's upload is 404 at every route", async () => {
    const owner = await premiumUser();
    const other = await premiumUser();
    const started = await start(owner, { name: "a.pdf", size: samples.pdf.byteLength, purpose: "document" });
    const id = started.body.id;
    expectProblem(await api(`/v1/files/uploads/${id}`, { headers: as(other) }), 404, "not_found");
    expectProblem(await putPart(other, id, 1, samples.pdf), 404, "not_found");
    expectProblem(
      await api(`/v1/files/uploads/${id}/complete`, {
        json: { parts: [{ number: 1, etag: "x" }] },
        headers: as(other),
      }),
      404,
      "not_found",
    );
    expectProblem(await api(`/v1/files/uploads/${id}`, { method: "DELETE", headers: as(other) }), 404, "not_found");
    expect((await putPart(owner, id, 1, samples.pdf)).status).toBe(200);
  });

  it("an upload abandoned past its day is aborted by the cron, its storage given back", async () => {
    const user = await premiumUser();
    const started = await start(user, { name: "a.pdf", size: PART + 1, purpose: "document" });
    expect((await putPart(user, started.body.id, 2, new Uint8Array(1))).status).toBe(200);
    await runCronAt(Date.now() + HOUR_MS);
    expect(await storageOf(user.user.id)).toEqual({ used: PART + 1, pending: 1 });
    testClock.advance(DAY_MS + HOUR_MS);
    await runCronAt(Date.now() + DAY_MS + HOUR_MS);
    expect(await storageOf(user.user.id)).toEqual({ used: 0, pending: 0 });
    expect(
      await env.DB.prepare("SELECT count(*) AS n FROM upload_sessions WHERE id = ?").bind(started.body.id).first("n"),
    ).toBe(0);
  });
});
