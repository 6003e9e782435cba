// Legal at depth 3: the module's own folders, another module's face, the platform, the middleware, the configuration.
import type { Hold } from "../../../billing/api";
import { configOf } from "../../../../env";
import { authRoute } from "../../../../middleware/auth";
import { clock } from "../../../../platform/clock";
import { firstPart } from "../../sibling/first-part";

export const used = [configOf, authRoute, clock, firstPart];
export type Used = Hold;
