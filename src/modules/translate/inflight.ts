import type { Cached } from "./cache";

/**
 * Upstream translations in flight in this isolate, by segment id: a request missing a segment
 * that another request is already translating waits for that call instead of making its own.
 * The call runs under its first request's `waitUntil`, so it finishes even if that client
 * leaves. A waiter whose call fails, or takes longer than it will wait, translates the segment
 * itself. Only this isolate shares: other isolates (and other locations) make their own calls.
 * Entries go when their call settles, so the map holds only what is in flight.
 */

export type Shared = { promise: Promise<Cached>; accountId: string };

const inFlight = new Map<string, Shared>();

/** The in-flight translation of `segmentId`, if any, and the account whose request made the call. */
export const pendingTranslation = (segmentId: string) => inFlight.get(segmentId);

/** Registers `call`'s translations under their segment ids until it settles. */
export function shareTranslations(segmentIds: string[], call: Promise<Map<string, Cached>>, accountId: string): void {
  for (const id of segmentIds) {
    const promise = call.then((translations) => {
      const found = translations.get(id);
      if (!found) throw new Error("the shared call did not translate this segment");
      return found;
    });
    const shared = { promise, accountId };
    inFlight.set(id, shared);
    // A waiter handles the failure; the entry goes either way.
    void promise
      .catch(() => {})
      .finally(() => {
        if (inFlight.get(id) === shared) inFlight.delete(id);
      });
  }
}

/** `promise`'s value, or null when it fails or takes longer than `ms`. */
export async function valueWithin<T>(promise: Promise<T>, ms: number): Promise<T | null> {
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
