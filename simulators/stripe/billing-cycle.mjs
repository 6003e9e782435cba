// @ts-check
// Billing cycles: periods counted in calendar months from an anchor, as Stripe bills.

/** @import { Obj, SimulatedStripe } from "./state.mjs" */
/** @typedef {{ anchor: number, months: number, index: number }} Cycle */

/** Adds calendar months in UTC, clamping the day (Jan 31 + 1 month = Feb 28), as Stripe bills. */
function addMonths(/** @type {number} */ seconds, /** @type {number} */ months) {
  const date = new Date(seconds * 1000);
  const day = date.getUTCDate();
  date.setUTCDate(1);
  date.setUTCMonth(date.getUTCMonth() + months);
  const daysInMonth = new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth() + 1, 0)).getUTCDate();
  date.setUTCDate(Math.min(day, daysInMonth));
  return Math.floor(date.getTime() / 1000);
}

const intervalMonths = (/** @type {Obj} */ price) => (price.recurring.interval === "year" ? 12 : 1);
export const periodStart = (/** @type {Cycle} */ cycle) => addMonths(cycle.anchor, cycle.index * cycle.months);
export const periodEnd = (/** @type {Cycle} */ cycle) => addMonths(cycle.anchor, (cycle.index + 1) * cycle.months);

/** The share of the item's current period still ahead at `at`, between 0 and 1. */
export function remainingFraction(/** @type {Obj} */ item, /** @type {number} */ at) {
  const length = item.current_period_end - item.current_period_start;
  return length > 0 ? Math.min(1, Math.max(0, (item.current_period_end - at) / length)) : 0;
}

/** A new cycle of the subscription, anchored at `at`, by the price's interval. */
export function startCycle(
  /** @type {SimulatedStripe} */ stripe,
  /** @type {string} */ subscriptionId,
  /** @type {Obj} */ price,
  /** @type {number} */ at,
) {
  const cycle = { anchor: at, months: intervalMonths(price), index: 0 };
  stripe.cycles.set(subscriptionId, cycle);
  return cycle;
}

export function cycleOf(/** @type {SimulatedStripe} */ stripe, /** @type {Obj} */ subscription) {
  const cycle = stripe.cycles.get(subscription.id);
  if (!cycle) throw new Error(`subscription ${subscription.id} has no billing cycle`);
  return cycle;
}

/** Moves the subscription's item to its next period. */
export function advancePeriod(/** @type {SimulatedStripe} */ stripe, /** @type {Obj} */ subscription) {
  const cycle = cycleOf(stripe, subscription);
  cycle.index += 1;
  Object.assign(subscription.items.data[0], {
    current_period_start: periodStart(cycle),
    current_period_end: periodEnd(cycle),
  });
}
