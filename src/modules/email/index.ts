import { createRouter } from "../../platform/openapi";
import * as handlers from "./handlers";
import * as routes from "./routes";

export const emailRouter = createRouter().openapi(routes.listOutbox, handlers.listOutbox);
