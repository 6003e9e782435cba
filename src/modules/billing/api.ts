/**
 * billing's face: what other modules may use of it, and the only file they import. Credits
 * (holds, settlements, balances, budgets), and what billing offers other modules through the
 * composition root: the plan a subscription gives, and a live subscription keeping its org.
 */
export { type Budget, budgetLeft, creditsOf, type Hold, release, reserve, settle } from "./ledger";
export { liveSubscriptionKeepsOrg, subscribedPlan } from "./subscriptions";
