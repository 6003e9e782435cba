import { configOf, loggerOf } from "../src/env";
import { wireModules } from "../src/modules";
import { consumeWalletCopies } from "../src/modules/billing/api";

export { AccountWallet } from "../src/modules/billing/api";

/**
 * One account's wallet behind HTTP, for `npm run bench` only: `POST /roundtrip` holds 1 credit
 * for a fresh reference and settles 0.7 of it (the AI gateway's path per request: two wallet
 * calls); `GET /noop` is the same isolate doing nothing, the baseline of the ratio. The worker
 * also consumes the wallet's copy queue, so the copy's cost is in the same process's CPU.
 */
const ACCOUNT = "usr_bench";
/** A request's hold, as CREDIT_HOLD_TTL_SECONDS gives it by default. */
const HOLD_TTL_MS = 900_000;

wireModules();

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    try {
      return await route(new URL(request.url).pathname, env);
    } catch (error) {
      // The bench stops on the first failure and prints this.
      return new Response(error instanceof Error ? error.message : String(error), { status: 500 });
    }
  },
  async queue(batch, env) {
    await consumeWalletCopies(batch, { env, config: configOf(env), logger: loggerOf(env, { queue: batch.queue }) });
  },
} satisfies ExportedHandler<Env, unknown>;

const walletOf = (env: Env) => env.ACCOUNT_WALLET.get(env.ACCOUNT_WALLET.idFromName(ACCOUNT));

async function route(pathname: string, env: Env): Promise<Response> {
  if (pathname === "/noop") return new Response("ok");
  const wallet = walletOf(env);
  if (pathname === "/fund") {
    const reference = `bench:${crypto.randomUUID()}`;
    await wallet.grant({ accountId: ACCOUNT, bucket: "purchased", amount: 1e12, reason: "bench", reference });
    return new Response("funded");
  }
  if (pathname === "/roundtrip") {
    const reference = `bench:${crypto.randomUUID()}`;
    const held = await wallet.hold({
      accountId: ACCOUNT,
      reference,
      amount: 1_000,
      expiresAt: Date.now() + HOLD_TTL_MS,
    });
    if (held.ok !== true) throw new Error(`hold refused: ${JSON.stringify(held)}`);
    const settled = await wallet.settle({ accountId: ACCOUNT, reference, actual: 700, records: [], keepCount: true });
    if (!settled.ok) throw new Error(`settle refused: ${settled.detail}`);
    return new Response("settled");
  }
  return new Response("not found", { status: 404 });
}
