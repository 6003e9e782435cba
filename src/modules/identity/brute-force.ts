import type { Context } from "hono";
import { DAY_MS, HOUR_MS, MINUTE_MS } from "../../platform/clock";
import type { AppEnv } from "../../platform/context";
import { sha256Hex } from "../../platform/crypto";
import { describeError } from "../../platform/logger";
import { consult, ipKey, type LimitCheck, refundCharge, refusal } from "../../platform/rate-limit/limiter";

/**
 * Brute-force limits on top of the per-IP `auth` request limit, keyed by a hash of the
 * target email whether or not an account has it, so a 429 reveals nothing. They fail closed
 * like every `auth` limit. GCRA turns each limit into a burst then a steady trickle (see
 * `gcra.ts`), which is the behaviour wanted here.
 */

/**
 * Failed sign-ins: 5 per (account, IP) in 15 minutes lock that pair (one more try every 3
 * minutes). Past 60 an hour for the account from all IPs together, each IP is slowed to one
 * try a minute of its own: an attacker's many addresses cannot take the owner's turn, so
 * nobody can lock the owner out.
 */
const LOGIN_LIMITS = {
  perAddress: { limit: 5, windowMs: 15 * MINUTE_MS },
  perAccount: { limit: 60, windowMs: HOUR_MS },
  perAddressWhenBusy: { limit: 1, windowMs: MINUTE_MS },
};

/** Emails one address may be sent (or registered) per action, whoever asks. */
const EMAIL_ACTION_LIMITS = {
  register: [{ limit: 5, windowMs: HOUR_MS }],
  password_reset: [
    { limit: 5, windowMs: HOUR_MS },
    { limit: 20, windowMs: DAY_MS },
  ],
  verification_resend: [
    { limit: 5, windowMs: HOUR_MS },
    { limit: 20, windowMs: DAY_MS },
  ],
};
type EmailAction = keyof typeof EMAIL_ACTION_LIMITS;

const emailHash = async (email: string) => (await sha256Hex(email)).slice(0, 32);

/**
 * Runs `attempt`, which checks the password of `email`'s account (sign-in, or a signed-in
 * change that asks for the current password), under the sign-in limits. The attempt is charged
 * before the check, so concurrent guesses cannot slip past the count, and given back when it
 * succeeds: only failures count.
 */
export async function limitPasswordCheck<T>(c: Context<AppEnv>, email: string, attempt: () => Promise<T>): Promise<T> {
  const refund = await chargeAttempt(c, email);
  const result = await attempt();
  // Before answering, so the caller's next attempt finds the refund made.
  await refund().catch((error: unknown) => c.get("logger").warn("sign-in limit refund failed", describeError(error)));
  return result;
}

async function chargeAttempt(c: Context<AppEnv>, email: string): Promise<() => Promise<void>> {
  const address = ipKey(c.req.header("cf-connecting-ip"));
  const key = `login:${await emailHash(email)}`;
  const pair = { name: address, ...LOGIN_LIMITS.perAddress };
  let check: LimitCheck = { key, windows: [pair, { name: "all", ...LOGIN_LIMITS.perAccount }] };
  let consulted = await consult(c.env, [check], "fail_closed", c.get("logger"));
  if (consulted && !consulted.verdict.allowed && consulted.verdict.window === "all") {
    // A refusal charged nothing: try this address's own slow lane instead.
    check = { key, windows: [pair, { name: `slow:${address}`, ...LOGIN_LIMITS.perAddressWhenBusy }] };
    consulted = await consult(c.env, [check], "fail_closed", c.get("logger"));
  }
  if (consulted && !consulted.verdict.allowed) {
    throw refusal(consulted.verdict, "Too many failed sign-ins for this account; retry after the time in Retry-After.");
  }
  return () => refundCharge(c.env, check);
}

/** Counts one email `action` aimed at `email`; 429 past its limits. */
export async function chargeEmailAction(c: Context<AppEnv>, action: EmailAction, email: string): Promise<void> {
  const check: LimitCheck = {
    key: `email:${await emailHash(email)}`,
    windows: EMAIL_ACTION_LIMITS[action].map((window) => ({ name: `${action}:${window.windowMs}`, ...window })),
  };
  const consulted = await consult(c.env, [check], "fail_closed", c.get("logger"));
  if (consulted && !consulted.verdict.allowed) {
    throw refusal(consulted.verdict, "Too many requests for this email address; retry after the time in Retry-After.");
  }
}
