import { env } from "cloudflare:test";
import { eq } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { sqliteTable, text } from "drizzle-orm/sqlite-core";
import { Hono } from "hono";
import { describe, expect, it } from "vitest";
import type { Config } from "../../src/env";
import { ioCount } from "../../src/middleware/io-count";
import type { AppEnv } from "../../src/platform/context";
import { asStatement } from "../../src/platform/db";
import {
  countingD1,
  countingEnv,
  countingNamespace,
  countingStub,
  IoCounter,
  type IoCounts,
} from "../../src/platform/io-count";
import { type ApiResponse, api } from "../helpers/client";
import { as, registerUser } from "../helpers/identity";
import { testApp } from "../helpers/test-app";

/** The `d1` and `do` counts of an answer's Server-Timing; throws when either is missing. */
function ioCountsOf(response: Pick<ApiResponse, "headers">): IoCounts {
  const timing = response.headers.get("server-timing") ?? "";
  const d1 = /(?:^|, )d1;desc="(\d+)"/.exec(timing)?.[1];
  const roundTrips = /(?:^|, )do;desc="(\d+)"/.exec(timing)?.[1];
  if (d1 === undefined || roundTrips === undefined) throw new Error(`no I/O counts in Server-Timing: ${timing}`);
  return { d1: Number(d1), do: Number(roundTrips) };
}

/** A promise and its resolver, to hold a call in flight as long as a test wants. */
function deferred<T = void>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((done) => {
    resolve = done;
  });
  return { promise, resolve };
}

/** A stand-in for a namespace whose stubs answer when the test says. */
function fakeNamespace() {
  const calls: { name: string; answer: (value: string) => void }[] = [];
  class Stub {
    readonly id: { name: string };
    disposed = false;
    constructor(readonly name: string) {
      this.id = { name };
    }
    ping(): Promise<string> {
      const { promise, resolve } = deferred<string>();
      calls.push({ name: this.name, answer: resolve });
      return promise;
    }
    fail(): Promise<string> {
      throw new Error("refused before any round trip");
    }
    describe(): string {
      return `stub ${this.name}`;
    }
    [Symbol.dispose]() {
      this.disposed = true;
    }
  }
  const namespace = {
    idFromName: (name: string) => ({ name }),
    idFromString: (name: string) => ({ name }),
    newUniqueId: () => ({ name: "unique" }),
    get: (id: { name: string }) => new Stub(id.name),
    getByName: (name: string) => new Stub(name),
  };
  return { namespace, calls };
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

describe("Durable Object round trips", () => {
  it("counts calls that overlap once, and calls one after another each", async () => {
    const { namespace, calls } = fakeNamespace();
    const counter = new IoCounter();
    const counted = countingNamespace(namespace, counter);

    const first = counted.getByName("a").ping();
    const second = counted.get(counted.idFromName("b")).ping();
    expect(counter.snapshot().do).toBe(1);
    for (const call of calls.splice(0)) call.answer(call.name);
    expect(await Promise.all([first, second])).toEqual(["a", "b"]);
    expect(counter.snapshot().do).toBe(1);

    const third = counted.getByName("c").ping();
    calls.splice(0)[0]?.answer("c");
    await third;
    const fourth = counted.getByName("d").ping();
    calls.splice(0)[0]?.answer("d");
    await fourth;
    expect(counter.snapshot().do).toBe(3);
  });

  it("counts a call that starts while another is in flight with it, even after the first ends", async () => {
    const { namespace, calls } = fakeNamespace();
    const counter = new IoCounter();
    const stub = countingNamespace(namespace, counter).getByName("x");
    const a = stub.ping();
    const b = stub.ping();
    calls[0]?.answer("a");
    await a;
    const c = stub.ping(); // b is still in flight: the same round trip
    calls[1]?.answer("b");
    calls[2]?.answer("c");
    await Promise.all([b, c]);
    expect(counter.snapshot().do).toBe(1);
    void stub.ping(); // nothing in flight any more: a new round trip (left pending)
    expect(counter.snapshot().do).toBe(2);
  });

  it("leaves ids, plain members, synchronous answers, throws and disposal as they were", async () => {
    const { namespace } = fakeNamespace();
    const counter = new IoCounter();
    const counted = countingNamespace(namespace, counter);
    expect(counted.idFromString("s")).toEqual({ name: "s" });
    expect(counted.newUniqueId()).toEqual({ name: "unique" });
    const stub = counted.getByName("plain");
    expect(stub.id).toEqual({ name: "plain" });
    expect(stub.name).toBe("plain");
    expect(stub.describe()).toBe("stub plain");
    expect(() => stub.fail()).toThrow("refused before any round trip");
    stub[Symbol.dispose]();
    expect(stub.disposed).toBe(true);
    expect(counter.snapshot().do).toBe(0);
  });

  it("ends a round trip when its call fails, so the next call counts again", async () => {
    const counter = new IoCounter();
    const stub = countingStub({ boom: () => Promise.reject(new Error("down")) }, counter);
    await expect(stub.boom()).rejects.toThrow("down");
    await settle();
    await expect(stub.boom()).rejects.toThrow("down");
    expect(counter.snapshot().do).toBe(2);
  });

  it("counts RPC calls through the real RATE_LIMITER's stubs", async () => {
    const counter = new IoCounter();
    const limiter = countingNamespace(env.RATE_LIMITER, counter);
    const key = `io-count:${crypto.randomUUID()}`;
    const windows = [{ name: "minute", limit: 10, windowMs: 60_000 }];
    const stub = limiter.getByName(key);
    expect(stub.id.equals(env.RATE_LIMITER.idFromName(key))).toBe(true);

    const verdicts = await Promise.all([
      stub.decide(key, windows),
      limiter.get(limiter.idFromName(key)).decide(key, windows),
    ]);
    expect(verdicts.map((verdict) => verdict.allowed)).toEqual([true, true]);
    expect(counter.snapshot().do).toBe(1);

    expect((await stub.decide(key, windows)).remaining).toBe(7);
    await stub.refund(windows);
    expect(counter.snapshot().do).toBe(3);
    const disposable = stub as unknown as { [Symbol.dispose]?: () => void };
    // Durable Object stubs have no dispose today; should they get one, it must still work.
    expect(() => disposable[Symbol.dispose]?.()).not.toThrow();
  });
});

const probes = sqliteTable("users", { id: text("id").primaryKey(), email: text("email").notNull() });

describe("D1 statements", () => {
  it("counts each executed statement, a batch by its statements, and unwraps them for the binding", async () => {
    const counter = new IoCounter();
    const db = countingD1(env.DB, counter);
    const select = db.prepare("SELECT ? AS n");
    expect(await select.bind(1).first("n")).toBe(1);
    expect((await select.bind(2).all()).results).toEqual([{ n: 2 }]);
    expect(await select.bind(3).raw()).toEqual([[3]]);
    expect(await select.bind(4).raw({ columnNames: true })).toEqual([["n"], [4]]);
    expect((await db.prepare("SELECT 1").run()).success).toBe(true);
    expect(counter.snapshot().d1).toBe(5);

    const results = await db.batch<{ n: number }>([select.bind(5), select.bind(6), env.DB.prepare("SELECT 7 AS n")]);
    expect(results.map((result) => result.results[0]?.n)).toEqual([5, 6, 7]);
    expect(counter.snapshot()).toEqual({ d1: 8, do: 0 });

    await db.exec("SELECT 1; SELECT 2;");
    expect(counter.snapshot().d1).toBe(10);
  });

  it("counts through a session", async () => {
    const counter = new IoCounter();
    const session = countingD1(env.DB, counter).withSession("first-primary");
    expect(await session.prepare("SELECT 1 AS n").first("n")).toBe(1);
    await session.batch([session.prepare("SELECT 1"), session.prepare("SELECT 2")]);
    expect(counter.snapshot().d1).toBe(3);
    expect(session.getBookmark()).not.toBeUndefined();
  });

  it("keeps drizzle working: queries, db.batch and statements batched by hand", async () => {
    const id = `usr_io_${crypto.randomUUID()}`;
    await env.DB.prepare(
      "INSERT INTO users (id, email, password_hash, name, created_at, updated_at) VALUES (?, ?, 'x', 'IO', 0, 0)",
    )
      .bind(id, `${id}@example.com`)
      .run();
    const counter = new IoCounter();
    const bindings = { DB: countingD1(env.DB, counter) };
    const db = drizzle(bindings.DB);

    const [row] = await db.select().from(probes).where(eq(probes.id, id));
    expect(row?.email).toBe(`${id}@example.com`);
    expect(counter.snapshot().d1).toBe(1);

    const [byId, byEmail] = await db.batch([
      db.select().from(probes).where(eq(probes.id, id)),
      db
        .select({ id: probes.id })
        .from(probes)
        .where(eq(probes.email, `${id}@example.com`)),
    ]);
    expect(byId).toHaveLength(1);
    expect(byEmail).toEqual([{ id }]);
    expect(counter.snapshot().d1).toBe(3);

    const statement = asStatement(bindings, db.select({ id: probes.id }).from(probes).where(eq(probes.id, id)));
    const [byHand] = await bindings.DB.batch([statement]);
    expect(byHand?.results).toEqual([{ id }]);
    expect(counter.snapshot().d1).toBe(4);
  });
});

describe("countingEnv", () => {
  it("wraps D1 and Durable Object namespaces only, leaving the env it copies alone", () => {
    const counted = countingEnv(env, new IoCounter());
    expect(counted.DB).not.toBe(env.DB);
    expect(counted.RATE_LIMITER).not.toBe(env.RATE_LIMITER);
    expect(counted.CACHE).toBe(env.CACHE);
    expect(counted.FILES).toBe(env.FILES);
    expect(counted.JOBS).toBe(env.JOBS);
    expect(counted.ENVIRONMENT).toBe(env.ENVIRONMENT);
    expect(env.DB.constructor.name).not.toBe("CountingD1");
  });
});

describe("Server-Timing: d1 and do", () => {
  it("reports no I/O for GET /health, after the existing entries", async () => {
    const response = await api("/health");
    expect(response.status).toBe(200);
    expect(response.headers.get("server-timing")).toMatch(/^handler;dur=[\d.]+, d1;desc="0", do;desc="0"$/);
  });

  it("reports the D1 reads and the limiter call of GET /v1/me, fewer reads once the session is cached", async () => {
    const user = await registerUser();
    const first = await api("/v1/me", { headers: as(user) });
    const second = await api("/v1/me", { headers: as(user) });
    expect([first.status, second.status]).toEqual([200, 200]);
    const [before, after] = [ioCountsOf(first), ioCountsOf(second)];
    expect(before.d1).toBeGreaterThanOrEqual(1); // the session's first lookup reads D1
    expect(after.d1).toBeLessThanOrEqual(before.d1);
    expect(before.do).toBeGreaterThanOrEqual(1);
    expect(after.do).toBeGreaterThanOrEqual(1);
  });

  it("counts what the handler did before answering, not what it does while streaming or after", async () => {
    const { app, call } = testApp();
    const streamed = deferred();
    const afterwards = deferred();
    app.get("/test/io", async (c) => {
      const key = `io-route:${crypto.randomUUID()}`;
      const windows = [{ name: "minute", limit: 10, windowMs: 60_000 }];
      await c.env.DB.prepare("SELECT 1").first();
      await c.env.DB.batch([c.env.DB.prepare("SELECT 1"), c.env.DB.prepare("SELECT 2"), c.env.DB.prepare("SELECT 3")]);
      const limiter = c.env.RATE_LIMITER;
      await Promise.all([
        limiter.getByName(key).decide(key, windows),
        limiter.getByName(`${key}:2`).decide(key, windows),
      ]);
      await limiter.getByName(key).decide(key, windows);
      const laterEnv = c.env;
      // Both start after the answer (a macrotask later): a statement counts when it is issued.
      c.executionCtx.waitUntil(
        (async () => {
          await settle();
          await laterEnv.DB.prepare("SELECT 'after'").first();
          await laterEnv.RATE_LIMITER.getByName(key).decide(key, windows);
          afterwards.resolve();
        })(),
      );
      const body = new ReadableStream({
        async start(controller) {
          await settle();
          await laterEnv.DB.prepare("SELECT 'streaming'").first();
          await laterEnv.RATE_LIMITER.getByName(key).refund(windows);
          controller.enqueue(new TextEncoder().encode("done"));
          controller.close();
          streamed.resolve();
        },
      });
      return c.body(body, 200);
    });
    const response = await call("/test/io");
    await Promise.all([streamed.promise, afterwards.promise]);
    expect(response.text).toBe("done");
    expect(ioCountsOf(response)).toEqual({ d1: 4, do: 2 });
  });

  it("counts the rate limiter of a limited route", async () => {
    const user = await registerUser();
    const response = await api("/v1/me/sessions", { headers: as(user) });
    expect(response.status).toBe(200);
    const counts = ioCountsOf(response);
    expect(counts.d1).toBeGreaterThanOrEqual(1);
    expect(counts.do).toBeGreaterThanOrEqual(1);
  });

  it("does nothing in production: the same bindings, no counts", async () => {
    const app = new Hono<AppEnv>();
    const config = { ENVIRONMENT: "production" } as Config;
    let seen: Env | undefined;
    app.use(async (c, next) => {
      c.set("config", config);
      await next();
    });
    app.use(ioCount);
    app.get("/", (c) => {
      seen = c.env;
      return c.text("ok");
    });
    const response = await app.request("/", {}, env);
    expect(await response.text()).toBe("ok");
    expect(seen).toBe(env);
    expect(response.headers.get("server-timing")).toBeNull();

    config.ENVIRONMENT = "development";
    const developed = await app.request("/", {}, env);
    expect(seen).not.toBe(env);
    expect(ioCountsOf(developed)).toEqual({ d1: 0, do: 0 });
  });
});
