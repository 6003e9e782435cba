// Legal imports that must pass: a sibling sub-folder of the same module, the module's own root,
// another module's face, and the platform.
import { reserve } from "../../billing/api";
import { database } from "../../../platform/db";
import { chargeOf } from "../pricing";
import { firstPart } from "../sibling/first-part";

export const used = [reserve, database, chargeOf, firstPart];
