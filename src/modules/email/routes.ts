import { defineRoute, jsonResponse } from "../../platform/openapi";
import { PaginationQuery } from "../../platform/pagination";
import { OutboxPageSchema } from "./schema";

export const listOutbox = defineRoute(
  {
    method: "get",
    path: "/v1/dev/outbox",
    tags: ["Development"],
    summary: "Emails written to the outbox (ENVIRONMENT=development on localhost only; 404 otherwise)",
    request: { query: PaginationQuery },
    responses: { 200: jsonResponse(OutboxPageSchema, "A page of messages, newest first") },
  },
  { errors: ["not_found"] },
);
