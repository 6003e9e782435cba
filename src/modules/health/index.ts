import { createRouter } from "../../platform/openapi";
import { getHealth, getReadiness } from "./handlers";
import { health, readiness } from "./routes";

export const healthRouter = createRouter().openapi(health, getHealth).openapi(readiness, getReadiness);
