/**
 * billing's face: what other modules may use of it, and the only file they import. Spending
 * credits (`withHold`, the only way, and its types); the account wallet (its Durable Object
 * class, its copy queue's consumer and the sinks other modules give their records to); and what
 * billing offers other modules through the composition root: the plan a subscription gives, a
 * live subscription keeping its org, the quota counters.
 */

export { billingConfig } from "./config";
export { quotaUsageOf } from "./credits/ledger";
export {
  chargeOf,
  chargeWithin,
  type Hold,
  type HoldSpec,
  type Meter,
  type Payer,
  payerOf,
  type Settlement,
  type SpendContext,
  withHold,
} from "./credits/spending";
export { liveSubscriptionKeepsOrg, subscribedPlan } from "./subscriptions/store";
export { type CopiedRecord, consumeWalletCopies, type RecordSink, walletRecordSinksPort } from "./wallet/copy";
export { closeDeletedWallet, markWalletDeleted, walletKeepsOrg } from "./wallet/deletion";
export { AccountWallet } from "./wallet/object";
export type { WalletRecord } from "./wallet/protocol";
