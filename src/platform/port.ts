/**
 * What one module needs of another, given to it by the composition root (`src/modules.ts`)
 * rather than imported: the subscription plan of an account, the guards of an org's deletion.
 * A module declares its ports in its `api.ts`; a port the root left unwired throws at first
 * use, never falls back to a silent default.
 */
export type Port<T> = { wire(value: T): void; get(): T };

export function port<T>(name: string): Port<T> {
  let value: T | undefined;
  return {
    wire(next) {
      value = next;
    },
    get() {
      if (value === undefined) throw new Error(`${name} is not wired: see src/modules.ts`);
      return value;
    },
  };
}
