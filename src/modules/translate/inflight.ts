import type { Cached } from "./cache";

/**
 * Upstream translations in flight in this isolate, by cache key: a request missing a segment
 * that another request is already translating waits for that call instead of making its own.
 * The call runs under its first request's `waitUntil`, so it finishes even if that client
 * leaves. A waiter whose call fails, or takes longer than it will wait, translates the segment
 * itself. Only this isolate shares: other isolates (and other locations) make their own calls.
 */

const inFlight = new Map<string, Promise<Cached>>();

/** The in-flight translation of `key`, if any. */
export const pendingTranslation = (key: string) => inFlight.get(key);

/** Registers `call`'s translations under their keys until it settles. */
export function shareTranslations(keys: string[], call: Promise<Map<string, Cached>>): void {
  for (const key of keys) {
    const one = call.then((translations) => {
      const found = translations.get(key);
      if (!found) throw new Error("the shared call did not translate this segment");
      return found;
    });
    // A waiter handles the failure; an unobserved rejection must not be reported as unhandled.
    one.catch(() => {});
    inFlight.set(key, one);
    void one
      .finally(() => {
        if (inFlight.get(key) === one) inFlight.delete(key);
      })
      .catch(() => {});
  }
}

/** `promise`'s value, or null when it fails or takes longer than `ms`. */
export async function within<T>(promise: Promise<T>, ms: number): Promise<T | null> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<null>((resolve) => {
    timer = setTimeout(() => resolve(null), ms);
  });
  try {
    return await Promise.race([promise.catch(() => null), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
