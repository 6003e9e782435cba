import { env } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import { DAY_MS, HOUR_MS, testClock } from "../../../src/platform/clock";
import { api } from "../../helpers/client";
import { runCronAt } from "../../helpers/downloads";
import { samples, storageOf, storedObjects, upload } from "../../helpers/files";
import { as, registerUser } from "../../helpers/identity";
import { createOrg, onPlan } from "../../helpers/orgs";

afterEach(() => testClock.reset());

describe("retention", () => {
  it("files to compress expire after the plan's days (free: 1); other purposes stay; the cron deletes them", async () => {
    const user = await registerUser();
    const transient = await upload(as(user), samples.jpeg, { purpose: "compression" });
    const kept = await upload(as(user), samples.pdf, { purpose: "document" });
    expect(transient.status, transient.text).toBe(201);
    const created = Date.parse(transient.body.createdAt as string);
    expect(Date.parse(transient.body.expiresAt as string) - created).toBe(DAY_MS);
    expect(kept.body.expiresAt).toBeNull();

    await runCronAt(Date.now() + HOUR_MS);
    expect((await api(`/v1/files/${transient.body.id}`, { headers: as(user) })).status).toBe(200);
    testClock.advance(DAY_MS + HOUR_MS);
    await runCronAt(Date.now() + DAY_MS + HOUR_MS);
    // (The access token has expired by now: the rows tell.)
    const ids = await env.DB.prepare("SELECT id FROM files WHERE account_id = ?")
      .bind(user.user.id)
      .all<{ id: string }>();
    expect(ids.results.map((row) => row.id)).toEqual([kept.body.id]);
    expect(await storedObjects(user.user.id)).toEqual([`accounts/${user.user.id}/files/${kept.body.id}`]);
    expect(await storageOf(user.user.id)).toEqual({ used: samples.pdf.byteLength, pending: 0 });
  });

  it("keeps them a week on premium", async () => {
    const user = await registerUser();
    await onPlan(user.user.id, "premium");
    const response = await upload(as(user), samples.png, { purpose: "compression" });
    expect(Date.parse(response.body.expiresAt as string) - Date.parse(response.body.createdAt as string)).toBe(
      7 * DAY_MS,
    );
  });
});

describe("a deleted org", () => {
  it("takes its files, links, storage level and reservations along; its objects follow by a queue task", async () => {
    const owner = await registerUser();
    const org = await createOrg(owner, "Short-lived");
    const inOrg = { ...as(owner), "x-stratus-org": org.id };
    const file = await upload(inOrg, samples.pdf, { purpose: "document" });
    expect(file.status, file.text).toBe(201);
    const link = await api(`/v1/files/${file.body.id}/links`, { json: { expiresIn: 3600 }, headers: inOrg });
    expect(link.status, link.text).toBe(201);
    const resumable = await api("/v1/files/uploads", {
      json: { name: "later.pdf", size: 1000, purpose: "document" },
      headers: inOrg,
    });
    expect(resumable.status, resumable.text).toBe(201);

    expect((await api(`/v1/orgs/${org.id}`, { method: "DELETE", headers: as(owner) })).status).toBe(204);
    const count = (sql: string) => env.DB.prepare(sql).bind(org.id).first<number>("n");
    expect(await count("SELECT count(*) AS n FROM files WHERE account_id = ?")).toBe(0);
    expect(await count("SELECT count(*) AS n FROM storage_usage WHERE account_id = ?")).toBe(0);
    expect(
      await env.DB.prepare("SELECT count(*) AS n FROM file_links WHERE file_id = ?").bind(file.body.id).first("n"),
    ).toBe(0);
    let objects = await storedObjects(org.id);
    for (let i = 0; i < 50 && objects.length > 0; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      objects = await storedObjects(org.id);
    }
    expect(objects).toEqual([]);
    // The reservation is the cron's to give back (and its multipart upload to abort).
    await runCronAt(Date.now());
    expect(await count("SELECT count(*) AS n FROM pending_uploads WHERE account_id = ?")).toBe(0);
    expect(await count("SELECT count(*) AS n FROM upload_sessions WHERE account_id = ?")).toBe(0);
  });
});
