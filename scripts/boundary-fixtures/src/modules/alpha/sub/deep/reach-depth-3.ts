// Planted reach-in at depth 3, re-exported rather than imported.
export { firstPart } from "../../../ai/chat/first-part";
