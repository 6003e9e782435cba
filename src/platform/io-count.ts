/**
 * Counting a request's I/O, for development and tests (`src/middleware/io-count.ts` reports it
 * as `Server-Timing`): the D1 statements it executes, and its *sequential* Durable Object
 * round trips. Domain-free: counting wrappers of a D1 binding and of Durable Object namespace
 * bindings, and `countingEnv`, a copy of an `env` whose such bindings count into one counter.
 *
 * - D1: each executed statement counts 1 (`first`, `all`, `run`, `raw`); `batch` counts its
 *   statements; `exec` counts the statements its text holds (roughly: `;`-separated parts).
 *   Statements prepared through the wrapper are unwrapped before the real `batch` sees them.
 * - Durable Objects: a call through a stub (an RPC method, `fetch`) that answers a promise is a
 *   round trip, in flight until that promise settles. Calls that overlap count once: the count
 *   goes up when a call starts while no other call of the same counter is in flight.
 *   (A call pipelined on an RPC result, `stub.a().b()`, is not seen.)
 */

export type IoCounts = { d1: number; do: number };

export class IoCounter {
  /** D1 statements executed. */
  private d1Statements = 0;
  /** Durable Object calls that started while none was in flight. */
  private sequentialRoundTrips = 0;
  private inFlight = 0;

  countStatements(count: number): void {
    this.d1Statements += count;
  }

  /** A Durable Object call started; the function returned ends it (once, whatever calls it). */
  startRoundTrip(): () => void {
    if (this.inFlight === 0) this.sequentialRoundTrips += 1;
    this.inFlight += 1;
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      this.inFlight -= 1;
    };
  }

  /** The counts when the request's priced work began, if it did (see `markWorkStarted`). */
  private beforeWork: IoCounts | undefined;

  /** The counts so far (later work does not change them). */
  snapshot(): IoCounts {
    return { d1: this.d1Statements, do: this.sequentialRoundTrips };
  }

  /** Keeps the counts of this moment, the first time it is called. */
  markWorkStarted(): void {
    this.beforeWork ??= this.snapshot();
  }

  /** The counts before the priced work began, or (none began) the counts so far. */
  beforeWorkOrNow(): IoCounts {
    return this.beforeWork ?? this.snapshot();
  }
}

// ---------------------------------------------------------------------------------------------
// D1

class CountingStatement implements D1PreparedStatement {
  constructor(
    readonly statement: D1PreparedStatement,
    private readonly counter: IoCounter,
  ) {}

  bind(...values: unknown[]): D1PreparedStatement {
    return new CountingStatement(this.statement.bind(...values), this.counter);
  }

  first<T = unknown>(colName?: string): Promise<T | null> {
    this.counter.countStatements(1);
    return colName === undefined ? this.statement.first<T>() : this.statement.first<T>(colName);
  }

  run<T = Record<string, unknown>>(): Promise<D1Result<T>> {
    this.counter.countStatements(1);
    return this.statement.run<T>();
  }

  all<T = Record<string, unknown>>(): Promise<D1Result<T>> {
    this.counter.countStatements(1);
    return this.statement.all<T>();
  }

  raw<T = unknown[]>(options: { columnNames: true }): Promise<[string[], ...T[]]>;
  raw<T = unknown[]>(options?: { columnNames?: false }): Promise<T[]>;
  raw<T = unknown[]>(options?: { columnNames?: boolean }): Promise<[string[], ...T[]] | T[]> {
    this.counter.countStatements(1);
    return options?.columnNames
      ? this.statement.raw<T>({ columnNames: true })
      : this.statement.raw<T>(options as { columnNames?: false } | undefined);
  }
}

/** The binding's own statement: its `batch` reads fields of its own statement objects. */
const unwrap = (statement: D1PreparedStatement) =>
  statement instanceof CountingStatement ? statement.statement : statement;

type Preparer = Pick<D1Database, "prepare" | "batch">;

function countingBatch(target: Preparer, counter: IoCounter) {
  return <T = unknown>(statements: D1PreparedStatement[]): Promise<D1Result<T>[]> => {
    counter.countStatements(statements.length);
    return target.batch<T>(statements.map(unwrap));
  };
}

class CountingSession implements D1DatabaseSession {
  readonly batch: D1DatabaseSession["batch"];

  constructor(
    private readonly session: D1DatabaseSession,
    private readonly counter: IoCounter,
  ) {
    this.batch = countingBatch(session, counter);
  }

  prepare(query: string): D1PreparedStatement {
    return new CountingStatement(this.session.prepare(query), this.counter);
  }

  getBookmark(): D1SessionBookmark | null {
    return this.session.getBookmark();
  }
}

/** Statements in an `exec` text, roughly: its non-empty `;`-separated parts (at least 1). */
const statementsIn = (query: string) => Math.max(1, query.split(";").filter((part) => part.trim() !== "").length);

class CountingD1 implements D1Database {
  readonly batch: D1Database["batch"];

  constructor(
    private readonly db: D1Database,
    private readonly counter: IoCounter,
  ) {
    this.batch = countingBatch(db, counter);
  }

  prepare(query: string): D1PreparedStatement {
    return new CountingStatement(this.db.prepare(query), this.counter);
  }

  exec(query: string): Promise<D1ExecResult> {
    this.counter.countStatements(statementsIn(query));
    return this.db.exec(query);
  }

  withSession(constraintOrBookmark?: D1SessionBookmark | D1SessionConstraint): D1DatabaseSession {
    return new CountingSession(this.db.withSession(constraintOrBookmark), this.counter);
  }

  dump(): Promise<ArrayBuffer> {
    return this.db.dump();
  }
}

/** `db`, counting each statement it executes into `counter`. */
export function countingD1(db: D1Database, counter: IoCounter): D1Database {
  return new CountingD1(db, counter);
}

// ---------------------------------------------------------------------------------------------
// Durable Objects

type Thenable = { then(onFulfilled?: unknown, onRejected?: unknown): unknown };

function isThenable(value: unknown): value is Thenable {
  return (
    (typeof value === "object" || typeof value === "function") &&
    value !== null &&
    typeof (value as { then?: unknown }).then === "function"
  );
}

/**
 * Runs `call`; when it answers a promise (an RPC call's `RpcPromise`, `fetch`'s), that is a
 * round trip until it settles. The answer itself is returned untouched, so pipelining,
 * disposal and rejections behave as without the wrapper.
 */
function countedCall(counter: IoCounter, call: () => unknown): unknown {
  const result = call();
  if (isThenable(result)) {
    const end = counter.startRoundTrip();
    result.then(end, end);
  }
  return result;
}

/** A member the proxy must answer as is (a Proxy invariant: non-configurable, read-only data). */
function isFrozenMember(target: object, property: string | symbol): boolean {
  const descriptor = Reflect.getOwnPropertyDescriptor(target, property);
  return descriptor !== undefined && descriptor.configurable === false && descriptor.writable === false;
}

type Callable = (...args: unknown[]) => unknown;

/**
 * A member of a stub (or of an RPC property): calling it is counted; its own members (an RPC
 * property's properties, `then` when it is awaited) are wrapped alike. `self` is the object it
 * was read from, the `this` that native stubs need.
 */
function countingMember(member: Callable, self: object, counter: IoCounter): Callable {
  return new Proxy(member, {
    apply: (target, _thisArg, args: unknown[]) => countedCall(counter, () => Reflect.apply(target, self, args)),
    get: (target, property) => memberOf(target, property, counter),
  });
}

/** What a counting stub (or member) answers for `property` of `target`. */
function memberOf(target: object, property: string | symbol, counter: IoCounter): unknown {
  const value: unknown = Reflect.get(target, property);
  if (typeof value !== "function" || isFrozenMember(target, property)) return value;
  // Symbols (`Symbol.dispose` for `using`) are no round trips, nor is `then` on the stub itself.
  if (typeof property === "symbol") return value.bind(target);
  return countingMember(value as Callable, target, counter);
}

/** `stub`, counting the round trips of calls made through it. */
export function countingStub<S extends object>(stub: S, counter: IoCounter): S {
  return new Proxy(stub, {
    get: (target, property) =>
      property === "then" ? Reflect.get(target, property) : memberOf(target, property, counter),
  });
}

type Namespace = Pick<DurableObjectNamespace, "idFromName" | "get">;

/**
 * `namespace`, whose stubs (`get`, `getByName`, and those of a `jurisdiction`'s namespace) count
 * their round trips into `counter`. Ids (`idFromName`, `idFromString`, `newUniqueId`) pass through.
 */
export function countingNamespace<N extends object>(namespace: N, counter: IoCounter): N {
  return new Proxy(namespace, {
    get: (target, property) => {
      const value: unknown = Reflect.get(target, property);
      if (typeof value !== "function" || isFrozenMember(target, property)) return value;
      const method = value as Callable;
      if (property === "get" || property === "getByName") {
        return (...args: unknown[]) => countingStub(Reflect.apply(method, target, args) as object, counter);
      }
      if (property === "jurisdiction") {
        return (...args: unknown[]) => countingNamespace(Reflect.apply(method, target, args) as object, counter);
      }
      return method.bind(target);
    },
  });
}

// ---------------------------------------------------------------------------------------------
// A whole env

const isObject = (value: unknown): value is Record<string, unknown> =>
  (typeof value === "object" || typeof value === "function") && value !== null;

/**
 * Whether a binding has these methods and no `fetch`. Service bindings answer any name with an
 * RPC method, so `fetch` (which D1 and namespaces lack, service bindings have) tells them apart.
 */
const hasMethods = (value: Record<string, unknown>, names: readonly string[]) =>
  typeof value.fetch !== "function" && names.every((name) => typeof value[name] === "function");

const isD1 = (value: unknown): value is D1Database =>
  isObject(value) && hasMethods(value, ["prepare", "batch", "exec"]);

const isNamespace = (value: unknown): value is Namespace =>
  isObject(value) && hasMethods(value, ["idFromName", "idFromString", "get"]);

type Countable = { d1: string[]; namespaces: string[] };

/** Which bindings of an env count, found once per env object (the runtime reuses it). */
const countableOf = new WeakMap<object, Countable>();

function countable(env: object): Countable {
  let found = countableOf.get(env);
  if (!found) {
    const entries = Object.entries(env);
    found = {
      d1: entries.filter(([, value]) => isD1(value)).map(([name]) => name),
      namespaces: entries.filter(([, value]) => isNamespace(value)).map(([name]) => name),
    };
    countableOf.set(env, found);
  }
  return found;
}

/**
 * A copy of `env` whose D1 bindings and Durable Object namespace bindings count into
 * `counter`; every other binding is the same object.
 */
export function countingEnv<E extends object>(env: E, counter: IoCounter): E {
  const copy = { ...env } as Record<string, unknown>;
  const { d1, namespaces } = countable(env);
  for (const name of d1) copy[name] = countingD1(copy[name] as D1Database, counter);
  for (const name of namespaces) copy[name] = countingNamespace(copy[name] as object, counter);
  countersByEnv.set(copy, counter);
  return copy as E;
}

const countersByEnv = new WeakMap<object, IoCounter>();

/**
 * The request whose `env` this is begins its priced work (the upstream call, once its credits
 * are held): its counts are kept as they are now. Nothing happens for an env that does not count.
 */
export function markWorkStarted(env: object): void {
  countersByEnv.get(env)?.markWorkStarted();
}
