import { clock } from "../clock";
import { describeError, type Logger } from "../logger";
import type { Verdict, Window } from "./gcra";
import { bindingVerdict, decideAll, type LimitCheck, refundCharge, type Unreachable, whenUnreachable } from "./limiter";

/**
 * Request limits decided in the isolate, from leases. A key's object charges a lease of
 * several requests at once (as many as its windows have room for, up to what was asked) and
 * the isolate hands them out one by one without a call: a busy key costs one call per lease,
 * not one per request. Leases never let more through than the limit (every request was
 * charged in the object before it was handed out); what a lease leaves unused is given back
 * with the next one. The price is the other way: requests of the same key in another isolate
 * may be refused while a lease here still holds a few, at most `LEASE_MS` and a tenth of the
 * limit. A lease starts at one request (exact, as without leases) and doubles each time one
 * runs out before it expires, so a key with little traffic is decided by its object each time.
 */

/** A lease is handed out for this long; unused requests then go back with the next one. */
const LEASE_MS = 1_000;
/** The most of a window's limit one lease may take (a free plan's 60 a minute: 6). */
const MAX_LEASE_SHARE = 0.1;
/** A new lease is asked for in the background once this share of the last one is left. */
const REFILL_AT_SHARE = 0.25;
/** Keys with a lease per isolate; past it, expired leases go first, then the oldest. */
const MAX_LEASES = 10_000;

type Lease = {
  /** Requests charged in the object and not handed out yet. */
  left: number;
  /** How many the last call granted, and how many it asked for. */
  granted: number;
  want: number;
  expiresAt: number;
  /** The object's verdict at that call (its `remaining` excludes `left`). */
  verdict: Verdict;
};

type Taken = { verdict: Verdict; giveBack: () => void };

/** Who asks, and what to do when the limiter cannot be reached: one request's, for each of its keys. */
type Asking = {
  env: Env;
  unreachable: Unreachable;
  logger: Logger;
  waitUntil: (work: Promise<unknown>) => void;
};

const leases = new Map<string, Lease>();
/** The call renewing a key's lease, while one is under way: concurrent requests share it. */
const renewals = new Map<string, Promise<Lease>>();

const leaseKey = (check: LimitCheck) =>
  `${check.key}\n${check.windows.map((window) => `${window.name}:${window.limit}:${window.windowMs}`).join(",")}`;

/** The most one lease may take: a tenth of the smallest window, at least one. */
const maxLeaseOf = (windows: readonly Window[]) =>
  Math.max(1, Math.floor(Math.min(...windows.map((window) => window.limit)) * MAX_LEASE_SHARE));

/**
 * The key's lease renewed by one call to its object, shared by whoever asks meanwhile (so it
 * runs in the `waitUntil` of the request that starts it: the others wait on it). What is left of
 * a live lease is kept; what an expired one left is given back (and dropped here first, so that
 * a call that fails never gives it back twice). Rejects when the limiter cannot be reached.
 */
function renew(env: Env, check: LimitCheck, id: string, waitUntil: (work: Promise<unknown>) => void): Promise<Lease> {
  let renewal = renewals.get(id);
  if (renewal) return renewal;
  renewal = (async () => {
    const lease = leases.get(id);
    const expired = lease !== undefined && lease.expiresAt <= clock.now();
    const used = lease ? lease.granted - lease.left : 0;
    // Ran out before it expired: the key is busy, so twice as many; expired: what it used.
    const want = !lease ? 1 : Math.min(maxLeaseOf(check.windows), expired ? Math.max(1, used) : lease.want * 2);
    const giveBack = expired ? lease.left : 0;
    if (expired) lease.left = 0;
    const [verdict] = await decideAll(env, [check], { want, giveBack });
    if (!verdict) throw new Error(`no verdict for ${check.key}`);
    // An object of an older version answers no `granted`: it charged one.
    const granted = verdict.allowed ? Math.max(1, Math.floor(Number(verdict.granted)) || 1) : 0;
    // Taken from meanwhile (a live lease), or given back (an expired one).
    const kept = leases.get(id);
    const left = kept && kept.expiresAt > clock.now() ? kept.left : 0;
    const renewed = { left: left + granted, granted, want, expiresAt: clock.now() + LEASE_MS, verdict };
    remember(id, renewed);
    return renewed;
  })().finally(() => renewals.delete(id));
  renewals.set(id, renewal);
  waitUntil(renewal.catch(() => {}));
  return renewal;
}

/** Keeps a key's lease; past `MAX_LEASES`, the least recently renewed goes (its requests are lost, never doubled). */
function remember(id: string, lease: Lease) {
  leases.delete(id);
  leases.set(id, lease);
  if (leases.size > MAX_LEASES) {
    const oldest = leases.keys().next();
    if (!oldest.done) leases.delete(oldest.value);
  }
}

/**
 * One request from the key's lease, renewing it when it is spent or expired. A renewal that
 * fails is judged by the caller's own `unreachable` (a shared one may have been started by a
 * request of the other policy): undefined to let it through, a thrown 503 to refuse it.
 */
async function take(asking: Asking, check: LimitCheck): Promise<Taken | undefined> {
  const { env, unreachable, logger, waitUntil } = asking;
  const id = leaseKey(check);
  // Ends: each renewal charges at least one request (which some waiter takes) or is refused.
  for (;;) {
    const lease = leases.get(id);
    if (lease && lease.left > 0 && lease.expiresAt > clock.now()) {
      lease.left -= 1;
      // Renewed before it runs out, so that no request waits for the call.
      if (lease.granted > 1 && lease.left <= lease.granted * REFILL_AT_SHARE && !renewals.has(id)) {
        renew(env, check, id, waitUntil).catch((error: unknown) =>
          logger.warn("rate limit lease not renewed ahead", describeError(error)),
        );
      }
      return {
        verdict: { ...lease.verdict, allowed: true, remaining: lease.verdict.remaining + lease.left },
        giveBack: () => {
          lease.left += 1;
        },
      };
    }
    const shared = renewals.has(id);
    let renewed: Lease;
    try {
      renewed = await renew(env, check, id, waitUntil);
    } catch (error) {
      return whenUnreachable(error, unreachable, logger);
    }
    if (renewed.granted === 0) {
      return shared ? alone(asking, check) : refused(renewed.verdict);
    }
    // Granted, but the others waiting took it all: ask again.
  }
}

const refused = (verdict: Verdict): Taken => ({ verdict, giveBack: () => {} });

/**
 * One request decided by the key's object itself: for a request that waited on another's call
 * that was refused, so that every refused request is counted there (`/v1/admin/rate-limits/top`).
 */
async function alone(asking: Asking, check: LimitCheck): Promise<Taken | undefined> {
  const { env, unreachable, logger, waitUntil } = asking;
  let verdict: Verdict | undefined;
  try {
    [verdict] = await decideAll(env, [check]);
  } catch (error) {
    return whenUnreachable(error, unreachable, logger);
  }
  if (!verdict) return whenUnreachable(new Error(`no verdict for ${check.key}`), unreachable, logger);
  if (!verdict.allowed) return refused(verdict);
  return { verdict, giveBack: () => waitUntil(refundCharge(env, check).catch(() => {})) };
}

/**
 * `consult` (limiter.ts) from leases: every check's key takes one request from its lease, in
 * parallel. Refused if any refuses, and then the requests the others took go back to their
 * leases (no call); undefined when the limiter is unreachable and `unreachable` is `fail_open`.
 */
export async function consultLeased(
  env: Env,
  checks: readonly LimitCheck[],
  unreachable: Unreachable,
  logger: Logger,
  waitUntil: (work: Promise<unknown>) => void,
): Promise<{ verdict: Verdict } | undefined> {
  const asking = { env, unreachable, logger, waitUntil };
  const taken = await Promise.all(checks.map((check) => take(asking, check)));
  const verdicts = taken.map((one) => one?.verdict);
  if (verdicts.includes(undefined) || verdicts.some((verdict) => verdict && !verdict.allowed)) {
    for (const one of taken) one?.giveBack();
  }
  if (verdicts.includes(undefined)) return undefined;
  return { verdict: bindingVerdict(verdicts as Verdict[]) };
}
