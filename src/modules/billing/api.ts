/**
 * billing's face: what other modules may use of it, and the only file they import. Spending
 * credits (`withHold`, the only way, and its types), and what billing offers other modules through
 * the composition root: the plan a subscription gives, and a live subscription keeping its org.
 */

export { billingConfig } from "./config";
export type { Hold } from "./credits/ledger";
export {
  chargeOf,
  chargeWithin,
  type HoldSpec,
  type Meter,
  type Payer,
  payerOf,
  type Settlement,
  type SpendContext,
  withHold,
} from "./credits/spending";
export { liveSubscriptionKeepsOrg, subscribedPlan } from "./subscriptions/store";
