import { AppError } from "../errors";
import type { Logger } from "../logger";
import { describeError } from "../logger";
import type { Verdict, Window } from "./gcra";

/**
 * Talking to the limiter: one `RATE_LIMITER` object per limit key. Keys name what is limited:
 * `key:<api key id>`, `usr:<user id>`, `ip:<address or IPv6 /64>`, `org:<org id>`, and the
 * brute-force keys of identity (`login:…`, `email:…`, hashed so no address is stored).
 */

/** A limiter that has not answered by then counts as unreachable. */
const LIMITER_TIMEOUT_MS = 1_000;

export type LimitCheck = { key: string; windows: Window[] };

/** What to do when the limiter cannot be reached (an error, or no answer in time): let the request through, or refuse it. */
export type Unreachable = "fail_open" | "fail_closed";

const limiterObject = (env: Env, key: string) => env.RATE_LIMITER.getByName(key);

function withTimeout<T>(work: Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`the rate limiter did not answer in ${LIMITER_TIMEOUT_MS} ms`)),
      LIMITER_TIMEOUT_MS,
    );
  });
  return Promise.race([work, timeout]).finally(() => {
    if (timer !== undefined) clearTimeout(timer);
  });
}

export type Consulted = { verdict: Verdict; refundOthers: () => Promise<void> };

/**
 * Asks each key's object (in parallel) to charge the request, or a lease of `want` after giving
 * back `giveBack` (`leases.ts`). Rejects when the limiter cannot be reached (an error, or no
 * answer in time): see `whenUnreachable`.
 */
export function decideAll(
  env: Env,
  checks: readonly LimitCheck[],
  lease: { want: number; giveBack: number } = { want: 1, giveBack: 0 },
): Promise<(Verdict & { granted: number })[]> {
  return withTimeout(
    Promise.all(
      checks.map((check) => limiterObject(env, check.key).decide(check.key, check.windows, lease.want, lease.giveBack)),
    ),
  );
}

/** An unreachable limiter: `fail_closed` refuses with a 503 (thrown), `fail_open` lets the request through (undefined); logged. */
export function whenUnreachable(error: unknown, unreachable: Unreachable, logger: Logger): undefined {
  if (unreachable === "fail_closed") {
    logger.error("rate limiter unreachable: refusing", describeError(error));
    throw new AppError("limiter_unavailable", "Rate limiting is unavailable; try again shortly.", {
      headers: { "Retry-After": "5" },
      cause: error,
    });
  }
  logger.warn("rate limiter unreachable: letting the request through", describeError(error));
  return undefined;
}

/**
 * Asks each key's object (in parallel) to charge the request. Refused if any refuses; then
 * the charges the others took are given back by `refundOthers`. Returns the verdict that binds
 * (the refusal with the longest wait, else the window with the least left), or `undefined`
 * when the limiter could not be reached and `unreachable` is `fail_open` (logged).
 */
export async function consult(
  env: Env,
  checks: readonly LimitCheck[],
  unreachable: Unreachable,
  logger: Logger,
): Promise<Consulted | undefined> {
  let verdicts: Verdict[];
  try {
    verdicts = await decideAll(env, checks);
  } catch (error) {
    return whenUnreachable(error, unreachable, logger);
  }
  const verdict = bindingVerdict(verdicts);
  const refused = verdicts.filter((verdict) => !verdict.allowed);
  const charged = checks.filter((_, index) => verdicts[index]?.allowed);
  const refundOthers = async () => {
    if (refused.length === 0) return;
    await Promise.all(charged.map((check) => limiterObject(env, check.key).refund(check.windows)));
  };
  return { verdict, refundOthers };
}

/** The verdict that binds: the refusal with the longest wait, else the window with the least left. */
export function bindingVerdict(verdicts: readonly Verdict[]): Verdict {
  const refused = verdicts.filter((verdict) => !verdict.allowed);
  return refused.length
    ? refused.reduce((a, b) => (b.retryAfterMs > a.retryAfterMs ? b : a))
    : verdicts.reduce((a, b) => (b.remaining < a.remaining ? b : a));
}

/** Gives back a charge on `windows` of `key` (e.g. a login that succeeded). */
export function refundCharge(env: Env, check: LimitCheck): Promise<void> {
  return limiterObject(env, check.key).refund(check.windows);
}

const seconds = (ms: number) => Math.max(0, Math.ceil(ms / 1000));

/**
 * The `RateLimit-Limit` / `RateLimit-Remaining` / `RateLimit-Reset` trio (reset in seconds
 * until the binding window is full again): short, and what most clients already parse.
 */
export function rateLimitHeaders(verdict: Verdict): Record<string, string> {
  return {
    "RateLimit-Limit": String(verdict.limit),
    "RateLimit-Remaining": String(verdict.remaining),
    "RateLimit-Reset": String(seconds(verdict.resetMs)),
  };
}

/** The 429 for a refused verdict: `Retry-After` in whole seconds, at least 1. */
export function refusal(
  verdict: Verdict,
  detail = "Too many requests; retry after the time in Retry-After.",
): AppError {
  return new AppError("rate_limited", detail, {
    headers: { ...rateLimitHeaders(verdict), "Retry-After": String(Math.max(1, seconds(verdict.retryAfterMs))) },
  });
}

/**
 * The limit key of a client address: IPv4 as is, IPv6 by its /64 (one subscriber usually
 * holds a whole /64, so per-address keys would be free to rotate).
 */
export function ipKey(address: string | undefined): string {
  const ip = address?.trim().toLowerCase();
  if (!ip) return "ip:unknown";
  if (!ip.includes(":")) return `ip:${ip}`;
  const mappedV4 = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(ip);
  if (mappedV4) return `ip:${mappedV4[1]}`;
  const [head = "", tail] = ip.split("::");
  const headGroups = head ? head.split(":") : [];
  const tailGroups = tail ? tail.split(":") : [];
  const groups = [
    ...headGroups,
    ...Array(Math.max(0, 8 - headGroups.length - tailGroups.length)).fill("0"),
    ...tailGroups,
  ];
  const prefix = groups.slice(0, 4).map((group) => (Number.parseInt(group, 16) || 0).toString(16));
  return `ip:${prefix.join(":")}::/64`;
}
