// Planted reach-in through the parent folder (`../../modules/…` resolves into another module).
import { release } from "../../modules/billing/ledger";

export const reached = release;
