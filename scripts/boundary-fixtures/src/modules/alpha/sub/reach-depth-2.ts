// Planted reach-in at depth 2: another module's internal file. `npm run lint` must refuse it.
import { release } from "../../billing/ledger";

export const reached = release;
