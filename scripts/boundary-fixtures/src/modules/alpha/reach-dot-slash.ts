// Planted reach-in spelled with a leading `./`.
import { deploymentsOf } from "./../ai/registry";

export const reached = deploymentsOf;
