import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { askWallet, type Wallet } from "../../../src/modules/billing/wallet/client";
import { AppError } from "../../../src/platform/errors";
import { fund, purchasedBalance, scenario } from "../../helpers/ai";
import { api } from "../../helpers/client";
import { as, registerUser } from "../../helpers/identity";
import { walletBalances, walletStub } from "../../helpers/wallet";

/**
 * `askWallet` (billing/wallet/client.ts): how a Worker reaches an account's wallet. Errors the
 * runtime marks `retryable` are tried again, an `overloaded` object is left alone, and what
 * still fails is 503 `provider_unavailable` with `Retry-After`: spending fails closed. A bug
 * of the caller (an error the runtime did not mark) is not hidden behind a 503.
 */

type RuntimeError = Error & { retryable?: boolean; overloaded?: boolean; remote?: boolean };

/** An error as the Durable Object runtime throws it, with its flags. */
function runtimeError(message: string, flags: { retryable?: boolean; overloaded?: boolean; remote?: boolean }) {
  return Object.assign(new Error(message), flags) as RuntimeError;
}

/**
 * An env whose wallet namespace answers stubs whose `balance` runs `answers` in turn (an error
 * is thrown, anything else answered), counting the calls and the accounts asked for.
 */
function fakeEnv(answers: unknown[]) {
  const seen = { calls: 0, names: [] as string[] };
  const stub = {
    balance: async () => {
      const answer = answers[Math.min(seen.calls, answers.length - 1)];
      seen.calls += 1;
      if (answer instanceof Error) throw answer;
      return answer;
    },
  };
  const namespace = {
    idFromName: (name: string) => {
      seen.names.push(name);
      return { name } as unknown as DurableObjectId;
    },
    get: () => stub,
  };
  const env = { ACCOUNT_WALLET: namespace } as unknown as Pick<Env, "ACCOUNT_WALLET">;
  const ask = () => askWallet(env, "usr_client", (wallet: Wallet) => wallet.balance("usr_client") as Promise<unknown>);
  return { env, seen, ask };
}

/** The error a promise rejects with. */
async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error("expected a rejection");
}

function expectUnavailable(error: unknown, retryAfter: string) {
  expect(error).toBeInstanceOf(AppError);
  const problem = error as AppError;
  expect(problem.code).toBe("provider_unavailable");
  expect(problem.status).toBe(503);
  expect(problem.headers["Retry-After"]).toBe(retryAfter);
}

describe("askWallet", () => {
  it("asks the wallet of the account named, and answers what it answers", async () => {
    const { seen, ask } = fakeEnv([{ available: 7 }]);
    expect(await ask()).toEqual({ available: 7 });
    expect(seen).toEqual({ calls: 1, names: ["usr_client"] });
  });

  it("tries a retryable error again, and answers what the next attempt answers", async () => {
    const { seen, ask } = fakeEnv([runtimeError("Network connection lost.", { retryable: true }), { available: 7 }]);
    expect(await ask()).toEqual({ available: 7 });
    expect(seen.calls).toBe(2);
  });

  it("answers 503 provider_unavailable with Retry-After after 3 retryable failures, trying no more", async () => {
    const { seen, ask } = fakeEnv([runtimeError("Network connection lost.", { retryable: true })]);
    expectUnavailable(await rejection(ask()), "1");
    expect(seen.calls).toBe(3);
  });

  it("does not retry an overloaded object: 503 at once, with a longer Retry-After", async () => {
    const { seen, ask } = fakeEnv([
      runtimeError("Durable Object is overloaded. Too many requests queued.", { retryable: true, overloaded: true }),
      { available: 7 },
    ]);
    expectUnavailable(await rejection(ask()), "5");
    expect(seen.calls).toBe(1);
  });

  it("does not retry an error thrown inside the object (remote, not retryable): 503 at once", async () => {
    const { seen, ask } = fakeEnv([runtimeError("D1_ERROR: the snapshot could not be read", { remote: true }), {}]);
    expectUnavailable(await rejection(ask()), "1");
    expect(seen.calls).toBe(1);
  });

  it("rethrows an error the runtime did not mark (a bug here) unchanged, without retrying", async () => {
    const bug = new TypeError("Cannot read properties of undefined (reading 'amount')");
    const { seen, ask } = fakeEnv([bug, { available: 7 }]);
    expect(await rejection(ask())).toBe(bug);
    expect(seen.calls).toBe(1);
    // An AppError of the call itself (not the runtime's) passes through as it is too.
    const refusal = new AppError("conflict", "no");
    const again = fakeEnv([refusal]);
    expect(await rejection(again.ask())).toBe(refusal);
    expect(again.seen.calls).toBe(1);
  });
});

describe("a spending route whose wallet cannot answer", () => {
  it("fails closed: 503 provider_unavailable with Retry-After, nothing called upstream, nothing taken", async () => {
    const user = await registerUser();
    const accountId = user.user.id;
    await fund(accountId, 1_000_000);
    // The real wallet breaks: every hold it tries to store fails inside the object.
    await runInDurableObject(walletStub(accountId), (_instance, state) => {
      state.storage.sql.exec(
        "CREATE TRIGGER holds_fail BEFORE INSERT ON holds BEGIN SELECT RAISE(ABORT, 'storage failed'); END",
      );
    });
    const upstream = await scenario("openai", [{}]);
    const answer = await api<{ error: { code: string; type: string } }>("/v1/embeddings", {
      json: { model: "text-embedding-3-small", input: `hello ${upstream.marker}` },
      headers: as(user),
    });
    expect(answer.status).toBe(503);
    expect(answer.body.error).toMatchObject({ code: "provider_unavailable", type: "server_error" });
    expect(Number(answer.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    expect(await upstream.requests()).toEqual([]);
    expect(await walletBalances(accountId)).toMatchObject({ held: 0, available: 1_000_000 });

    // Once the wallet answers again, so does the route.
    await runInDurableObject(walletStub(accountId), (_instance, state) => {
      state.storage.sql.exec("DROP TRIGGER holds_fail");
    });
    const healed = await api("/v1/embeddings", {
      json: { model: "text-embedding-3-small", input: `hello again ${upstream.marker}` },
      headers: as(user),
    });
    expect(healed.status).toBe(200);
    await expect.poll(() => purchasedBalance(accountId)).toBeLessThan(1_000_000);
  });
});
