// Planted reach-in at depth 4, as a type.
import type { Hold } from "../../../../billing/ledger";

export type Reached = Hold;
