// Planted: the platform importing a module (even its face). The composition root wires instead.
import { withHold } from "../modules/billing/api";

export const reached = withHold;
