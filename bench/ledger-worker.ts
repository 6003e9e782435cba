import { grant, reserve, settle } from "../src/modules/billing/credits/ledger";

/**
 * The credit ledger's service API behind HTTP, for `npm run bench` only: `POST /roundtrip`
 * reserves 1 credit for a fresh reference and settles 0.7 of it (the AI gateway's path per
 * request); `GET /noop` is the same isolate doing nothing, the baseline of the ratio.
 */
const ACCOUNT = "usr_bench";
/** A request's hold, as CREDIT_HOLD_TTL_SECONDS gives it by default. */
const HOLD_TTL_MS = 900_000;

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    try {
      return await route(new URL(request.url).pathname, env);
    } catch (error) {
      // The bench stops on the first failure and prints this.
      return new Response(error instanceof Error ? error.message : String(error), { status: 500 });
    }
  },
} satisfies ExportedHandler<Env>;

async function route(pathname: string, env: Env): Promise<Response> {
  if (pathname === "/noop") return new Response("ok");
  if (pathname === "/fund") {
    const reference = `bench:${crypto.randomUUID()}`;
    await grant(env, { accountId: ACCOUNT, bucket: "purchased", amount: 1e12, reason: "bench", reference });
    return new Response("funded");
  }
  if (pathname === "/roundtrip") {
    const hold = await reserve(env, ACCOUNT, 1_000, `bench:${crypto.randomUUID()}`, {
      expiresAt: Date.now() + HOLD_TTL_MS,
    });
    await settle(env, hold, 700);
    return new Response("settled");
  }
  return new Response("not found", { status: 404 });
}
