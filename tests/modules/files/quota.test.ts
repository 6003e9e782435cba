import { env, SELF } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import { commit } from "../../../src/modules/files/quota";
import { HOUR_MS, MINUTE_MS, testClock } from "../../../src/platform/clock";
import { BASE_URL, expectProblem, withClientIp } from "../../helpers/client";
import { countOf } from "../../helpers/db";
import { runCronAt, sized } from "../../helpers/downloads";
import { samples, storageOf, storedObjects, upload } from "../../helpers/files";
import { as, type Registered, registerUser } from "../../helpers/identity";
import { onPlan } from "../../helpers/orgs";

/**
 * The storage quota under concurrency and failure: parallel uploads never store past it (a
 * reservation and the level change in one batch behind a CHECK), refused ones leave nothing,
 * and reservations a vanished client left behind are given back by the cron.
 */

afterEach(() => testClock.reset());

const KiB = 1024;
const MiB = 1024 * KiB;
const FREE_QUOTA = 104857600;
const PRO_QUOTA = 107374182400;

/** Sets an account's storage level as if it had stored `used` bytes already. */
async function level(accountId: string, used: number, limit: number) {
  await env.DB.prepare(
    `INSERT INTO storage_usage (account_id, used, limit_value) VALUES (?1, ?2, ?3)
     ON CONFLICT (account_id) DO UPDATE SET used = ?2, limit_value = ?3`,
  )
    .bind(accountId, used, limit)
    .run();
}

async function expectLevel(user: Registered, start: number, stored: Uint8Array[]) {
  const storage = await storageOf(user.user.id);
  expect(storage.pending).toBe(0);
  expect(storage.used).toBe(start + stored.reduce((sum, bytes) => sum + bytes.byteLength, 0));
}

describe("parallel uploads against the quota", () => {
  it("20 uploads of 100 KiB against 1 MiB left: at most 1 MiB stored, the rest 403 storage_quota_exceeded", {
    timeout: 60_000,
  }, async () => {
    const user = await registerUser();
    // The free plan takes 10 uploads a minute: 20 at once would meet 429 before the quota.
    await onPlan(user.user.id, "pro");
    const start = PRO_QUOTA - MiB;
    await level(user.user.id, start, PRO_QUOTA);
    const files = Array.from({ length: 20 }, (_, i) =>
      sized(samples.pdf, 100 * KiB).map((b, at) => (at === 20 ? i : b)),
    );

    const responses = await Promise.all(
      files.map((bytes, i) => upload(as(user), bytes, { name: `part-${i}.pdf`, purpose: "document" })),
    );
    const succeeded = responses.filter((response) => response.status === 201);
    const refused = responses.filter((response) => response.status !== 201);
    for (const response of refused) {
      const problem = expectProblem(response, 403, "storage_quota_exceeded");
      expect(problem).toMatchObject({ limit: PRO_QUOTA, needed: 100 * KiB });
      expect(problem.used as number).toBeGreaterThanOrEqual(start);
      expect((problem.used as number) + 100 * KiB).toBeGreaterThan(PRO_QUOTA);
    }
    expect(succeeded.length * 100 * KiB).toBeLessThanOrEqual(MiB);
    // Nothing failed that fit: each reservation either fits or not, and none is given back.
    expect(succeeded.length).toBe(10);

    const storage = await storageOf(user.user.id);
    expect(storage).toEqual({ used: start + succeeded.length * 100 * KiB, pending: 0 });
    expect(storage.used).toBeLessThanOrEqual(PRO_QUOTA);
    const objects = await storedObjects(user.user.id);
    expect(objects).toHaveLength(succeeded.length);
    expect(objects.sort()).toEqual(
      succeeded.map((response) => `accounts/${user.user.id}/files/${response.body.id}`).sort(),
    );
    expect(await countOf("SELECT count(*) AS n FROM files WHERE account_id = ?", user.user.id)).toBe(succeeded.length);
    expect(await countOf("SELECT count(*) AS n FROM pending_uploads WHERE account_id = ?", user.user.id)).toBe(0);
    // Each stored file is the one sent.
    for (const response of succeeded) {
      const index = Number(/part-(\d+)\.pdf/.exec(response.body.name)?.[1]);
      const object = (await env.FILES.get(`accounts/${user.user.id}/files/${response.body.id}`)) as R2ObjectBody;
      expect(new Uint8Array(await object.arrayBuffer())).toEqual(files[index]);
    }
  });

  it("the same without Content-Length (buffered bodies reserve once read)", { timeout: 60_000 }, async () => {
    const user = await registerUser();
    await onPlan(user.user.id, "pro");
    const start = PRO_QUOTA - 300 * KiB;
    await level(user.user.id, start, PRO_QUOTA);
    const bytes = sized(samples.pdf, 100 * KiB);
    const responses = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        upload(as(user), bytes, { name: `s-${i}.pdf`, purpose: "document", streamed: true }),
      ),
    );
    const succeeded = responses.filter((response) => response.status === 201);
    for (const response of responses.filter((r) => r.status !== 201)) {
      expectProblem(response, 403, "storage_quota_exceeded");
    }
    expect(succeeded).toHaveLength(3);
    await expectLevel(
      user,
      start,
      succeeded.map(() => bytes),
    );
    expect(await storedObjects(user.user.id)).toHaveLength(3);
  });

  it("on the free plan: 8 at once against 250 KiB left store 2", { timeout: 60_000 }, async () => {
    const user = await registerUser();
    const start = FREE_QUOTA - 250 * KiB;
    await level(user.user.id, start, FREE_QUOTA);
    const bytes = sized(samples.pdf, 100 * KiB);
    const responses = await Promise.all(
      Array.from({ length: 8 }, (_, i) => upload(as(user), bytes, { name: `f-${i}.pdf`, purpose: "document" })),
    );
    const statuses = responses.map((response) => response.status).sort();
    expect(statuses).toEqual([201, 201, 403, 403, 403, 403, 403, 403]);
    await expectLevel(user, start, [bytes, bytes]);
    expect(await storedObjects(user.user.id)).toHaveLength(2);
  });

  it("a full account uploads again once it deletes a file", async () => {
    const user = await registerUser();
    const bytes = sized(samples.pdf, 100 * KiB);
    await level(user.user.id, FREE_QUOTA - 2 * bytes.byteLength, FREE_QUOTA);
    const first = await upload(as(user), bytes, { purpose: "document" });
    const second = await upload(as(user), bytes, { purpose: "document" });
    expect([first.status, second.status]).toEqual([201, 201]);
    expect(await storageOf(user.user.id)).toEqual({ used: FREE_QUOTA, pending: 0 });
    expectProblem(await upload(as(user), samples.pdf, { purpose: "document" }), 403, "storage_quota_exceeded");
    expect((await upload(as(user), samples.pdf, { purpose: "document" })).status).toBe(403);
    const deleted = await SELF.fetch(`${BASE_URL}/v1/files/${first.body.id}`, {
      method: "DELETE",
      headers: withClientIp(as(user)),
    });
    expect(deleted.status).toBe(204);
    expect((await upload(as(user), samples.pdf, { purpose: "document" })).status).toBe(201);
    expect(await storageOf(user.user.id)).toEqual({
      used: FREE_QUOTA - bytes.byteLength + samples.pdf.byteLength,
      pending: 0,
    });
  });
});

describe("abandoned reservations", () => {
  /** A reservation as a client that vanished mid-upload leaves it: its row, its bytes counted, maybe an object. */
  async function abandoned(user: Registered, bytes: number, expiresAt: number, withObject = true) {
    const id = `file_ABANDONED${crypto.randomUUID().replaceAll("-", "").slice(0, 16).toUpperCase()}`;
    const key = `accounts/${user.user.id}/files/${id}`;
    await env.DB.batch([
      env.DB.prepare(
        "INSERT INTO pending_uploads (id, account_id, bytes, r2_key, r2_upload_id, created_at, expires_at) VALUES (?, ?, ?, ?, NULL, ?, ?)",
      ).bind(id, user.user.id, bytes, key, expiresAt - HOUR_MS, expiresAt),
      env.DB.prepare(
        `INSERT INTO storage_usage (account_id, used, limit_value) VALUES (?1, ?2, ?3)
         ON CONFLICT (account_id) DO UPDATE SET used = used + ?2`,
      ).bind(user.user.id, bytes, FREE_QUOTA),
    ]);
    if (withObject) await env.FILES.put(key, sized(samples.pdf, bytes));
    return { id, key };
  }

  const pendingIds = async (user: Registered) =>
    (
      await env.DB.prepare("SELECT id FROM pending_uploads WHERE account_id = ? ORDER BY id")
        .bind(user.user.id)
        .all<{ id: string }>()
    ).results.map((row) => row.id);

  it("the cron gives an expired one's bytes back and deletes its object; one not yet expired stays", async () => {
    const user = await registerUser();
    const kept = await upload(as(user), samples.png, { purpose: "avatar" });
    expect(kept.status).toBe(201);
    const now = Date.now();
    const expired = await abandoned(user, 4000, now + HOUR_MS);
    const live = await abandoned(user, 7000, now + 3 * HOUR_MS);
    const objectless = await abandoned(user, 500, now + HOUR_MS, false);
    expect(await storageOf(user.user.id)).toEqual({ used: samples.png.byteLength + 11_500, pending: 3 });

    // Before its expiry, nothing moves.
    await runCronAt(now + 30 * MINUTE_MS);
    expect(await storageOf(user.user.id)).toEqual({ used: samples.png.byteLength + 11_500, pending: 3 });
    expect(await env.FILES.head(expired.key)).not.toBeNull();

    await runCronAt(now + HOUR_MS + 5 * MINUTE_MS);
    expect(await pendingIds(user)).toEqual([live.id]);
    expect(await storageOf(user.user.id)).toEqual({ used: samples.png.byteLength + 7000, pending: 1 });
    expect(await env.FILES.head(expired.key)).toBeNull();
    expect(await env.FILES.head(objectless.key)).toBeNull();
    expect(await env.FILES.head(live.key)).not.toBeNull();
    // The stored file is untouched.
    expect(await env.FILES.head(`accounts/${user.user.id}/files/${kept.body.id}`)).not.toBeNull();
    // A second run changes nothing more (the bytes are given back once).
    await runCronAt(now + HOUR_MS + 10 * MINUTE_MS);
    expect(await storageOf(user.user.id)).toEqual({ used: samples.png.byteLength + 7000, pending: 1 });

    await runCronAt(now + 3 * HOUR_MS + 5 * MINUTE_MS);
    expect(await pendingIds(user)).toEqual([]);
    expect(await storageOf(user.user.id)).toEqual({ used: samples.png.byteLength, pending: 0 });
    expect(await storedObjects(user.user.id)).toEqual([`accounts/${user.user.id}/files/${kept.body.id}`]);
  });

  it("a reservation committed just as the cron found it expired keeps its object (no file without bytes)", async () => {
    const user = await registerUser();
    const now = Date.now();
    const bytes = 3000;
    const late = await abandoned(user, bytes, now + HOUR_MS);
    // The upload, slower than its reservation, finishes right after the cron has read the expired
    // reservations: its commit lands just after that read, before anything else the cron does.
    let committed: boolean | null = null;
    const landCommit = async () => {
      committed = !!(await commit(env, {
        id: late.id,
        accountId: user.user.id,
        uploadedBy: user.user.id,
        purpose: "document",
        name: "late.pdf",
        contentType: "application/pdf",
        size: bytes,
        sha256: null,
        r2Key: late.key,
        createdAt: now,
        updatedAt: now,
        expiresAt: null,
        attachedKind: null,
        attachedId: null,
      }));
    };
    const afterRead = (statement: D1PreparedStatement): D1PreparedStatement =>
      new Proxy(statement, {
        get(object, property) {
          const value = Reflect.get(object, property);
          if (property === "bind") return (...args: unknown[]) => afterRead(value.apply(object, args));
          if (property === "all") {
            return async () => {
              const read = await value.apply(object, []);
              if (committed === null) await landCommit();
              return read;
            };
          }
          return typeof value === "function" ? value.bind(object) : value;
        },
      });
    const db = new Proxy(env.DB, {
      get(object, property) {
        const value = Reflect.get(object, property);
        if (property === "prepare") {
          return (sql: string) => {
            const statement = value.call(object, sql);
            return /FROM pending_uploads WHERE expires_at <=/.test(sql) ? afterRead(statement) : statement;
          };
        }
        return typeof value === "function" ? value.bind(object) : value;
      },
    });
    const racing = { ...env, DB: db } as Env;

    await runCronAt(now + 2 * HOUR_MS, racing);
    // (Null here: the cron no longer reads expired reservations with the query this test waits for.)
    expect(committed).toBe(true);
    // The upload won: its file has its bytes, counted once, and the cron took nothing of it.
    expect(await countOf("SELECT count(*) AS n FROM files WHERE id = ?", late.id)).toBe(1);
    expect(await env.FILES.head(late.key), "a file row whose object the cron deleted").not.toBeNull();
    expect(await storageOf(user.user.id)).toEqual({ used: bytes, pending: 0 });
  });

  it("aborts an abandoned R2 multipart upload", async () => {
    const user = await registerUser();
    const now = Date.now();
    const reservation = await abandoned(user, 6 * MiB, now + HOUR_MS, false);
    const multipart = await env.FILES.createMultipartUpload(reservation.key);
    const part = await multipart.uploadPart(1, sized(samples.pdf, 6 * MiB));
    await env.DB.prepare("UPDATE pending_uploads SET r2_upload_id = ? WHERE id = ?")
      .bind(multipart.uploadId, reservation.id)
      .run();

    await runCronAt(now + 2 * HOUR_MS);
    expect(await storageOf(user.user.id)).toEqual({ used: 0, pending: 0 });
    // Aborted: it can no longer be completed into an object.
    await expect(
      env.FILES.resumeMultipartUpload(reservation.key, multipart.uploadId).complete([part]),
    ).rejects.toThrow();
    expect(await env.FILES.head(reservation.key)).toBeNull();
  });

  it("an upload that outlives its reservation is refused (409) and leaves nothing behind", {
    timeout: 30_000,
  }, async () => {
    const user = await registerUser();
    const bytes = sized(samples.pdf, 64 * KiB);
    let release: () => void = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    let sent = false;
    // A client that sends the head, then stalls past the reservation's hour.
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        if (!sent) {
          sent = true;
          controller.enqueue(bytes.slice(0, 32 * KiB));
          return;
        }
        await held;
        controller.enqueue(bytes.slice(32 * KiB));
        controller.close();
      },
    });
    const pending = SELF.fetch(`${BASE_URL}/v1/files?purpose=document&name=slow.pdf`, {
      method: "POST",
      body,
      headers: withClientIp({
        ...as(user),
        "content-type": "application/pdf",
        "content-length": String(bytes.byteLength),
      }),
    });
    await expect
      .poll(() => storageOf(user.user.id), { timeout: 10_000 })
      .toEqual({ used: bytes.byteLength, pending: 1 });
    await runCronAt(Date.now() + 2 * HOUR_MS);
    expect(await storageOf(user.user.id)).toEqual({ used: 0, pending: 0 });
    release();
    const response = await pending;
    const text = await response.text();
    expect(response.status, text).toBe(409);
    expect(JSON.parse(text)).toMatchObject({ code: "conflict" });
    expect(await storageOf(user.user.id)).toEqual({ used: 0, pending: 0 });
    expect(await storedObjects(user.user.id)).toEqual([]);
    expect(await countOf("SELECT count(*) AS n FROM files WHERE account_id = ?", user.user.id)).toBe(0);
  });
});
