import { authRoute } from "../../../middleware/auth";
import { jsonRequestBody, jsonResponse } from "../../../platform/openapi";
import { PaginationQuery } from "../../../platform/pagination";
import { ApiKeyListSchema, ApiKeyParams, CreateApiKeyBody, CreatedApiKeySchema } from "./schema";

const tags = ["API keys"];

export const createApiKey = authRoute({
  method: "post",
  path: "/v1/api-keys",
  tags,
  summary: "Create an API key; its secret is shown once",
  request: { body: jsonRequestBody(CreateApiKeyBody) },
  responses: { 201: jsonResponse(CreatedApiKeySchema, "The key and its secret") },
});

export const listApiKeys = authRoute({
  method: "get",
  path: "/v1/api-keys",
  tags,
  summary: "The caller's live API keys",
  request: { query: PaginationQuery },
  responses: { 200: jsonResponse(ApiKeyListSchema, "A page of keys, newest first") },
});

export const revokeApiKey = authRoute({
  method: "delete",
  path: "/v1/api-keys/{id}",
  tags,
  summary: "Revoke one of the caller's API keys",
  request: { params: ApiKeyParams },
  responses: { 204: { description: "Revoked" } },
});
