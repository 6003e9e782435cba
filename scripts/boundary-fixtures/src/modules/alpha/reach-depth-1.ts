// Planted reach-in at depth 1: another module's internal file. `npm run lint` must refuse it.
import { deploymentsOf } from "../ai/registry";

export const reached = deploymentsOf;
