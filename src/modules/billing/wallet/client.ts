import { AppError } from "../../../platform/errors";

/**
 * Reaching an account's wallet from a Worker. Every wallet method is idempotent by its
 * reference, so an infrastructure error the runtime marks `retryable` is tried again (twice,
 * briefly), unless the object is `overloaded`: more calls would only add to its queue. What
 * still fails answers 503 `provider_unavailable` with `Retry-After`: spending fails closed.
 */

export const walletOf = (env: Pick<Env, "ACCOUNT_WALLET">, accountId: string) =>
  env.ACCOUNT_WALLET.get(env.ACCOUNT_WALLET.idFromName(accountId));

export type Wallet = ReturnType<typeof walletOf>;

const ATTEMPTS = 3;

type DurableObjectError = Error & { retryable?: boolean; overloaded?: boolean; remote?: boolean };

const unavailable = (overloaded: boolean) =>
  new AppError("provider_unavailable", "Credits cannot be checked right now; try again shortly.", {
    headers: { "Retry-After": overloaded ? "5" : "1" },
  });

/** Calls the account's wallet (see the file's header for retries and failures). */
export async function askWallet<T>(
  env: Pick<Env, "ACCOUNT_WALLET">,
  accountId: string,
  call: (wallet: Wallet) => Promise<T>,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await call(walletOf(env, accountId));
    } catch (error) {
      // The runtime's errors say whether they are retryable; an error thrown in the object
      // (`remote`: its D1 migration read failed, say) is not. Anything else is a bug here.
      if (!(error instanceof Error && ("retryable" in error || "remote" in error))) throw error;
      const { retryable = false, overloaded = false } = error as DurableObjectError;
      if (!retryable || overloaded || attempt === ATTEMPTS) throw unavailable(overloaded);
      await new Promise((resolve) => setTimeout(resolve, 20 * attempt + Math.random() * 30));
    }
  }
}
