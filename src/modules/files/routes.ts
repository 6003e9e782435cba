import { authRoute } from "../../middleware/auth";
import { defineRoute, jsonRequestBody, jsonResponse } from "../../platform/openapi";
import {
  BinaryBody,
  FileIdParams,
  FileListSchema,
  FileSchema,
  LinkBody,
  LinkContentQuery,
  LinkListSchema,
  LinkParams,
  LinkSchema,
  ListQuery,
  RenameBody,
  UploadQuery,
} from "./schema";

const TAGS = ["Files"];

const fileBytes = (description: string) => ({
  description,
  content: { "application/octet-stream": { schema: BinaryBody } },
});

const CONTENT_RESPONSES = {
  200: fileBytes(
    "The bytes, with the sniffed `Content-Type` (text, markup and unknown types as `application/octet-stream`), `Content-Disposition: attachment` (raster images may be `inline`), `Content-Security-Policy: default-src 'none'; sandbox`, `X-Content-Type-Options: nosniff` and the SHA-256 as `ETag`",
  ),
  206: fileBytes("The byte range asked for by `Range` (one range: `bytes=a-b`, `bytes=a-` or `bytes=-n`)"),
  304: { description: "Not modified: `If-None-Match` named the ETag" },
};

export const uploadFile = authRoute(
  {
    method: "post",
    path: "/v1/files",
    tags: TAGS,
    summary: "Upload a file in one request (the raw body; multipart/form-data up to 10 MiB)",
    description:
      "Send the bytes as the body with their `Content-Type` and, ideally, `Content-Length` (past the plan's `maxUploadBytes` or `FILES_SINGLE_UPLOAD_MAX_BYTES`, 95 MiB by default, it is refused before a byte is read). Without `Content-Length` the body streams in 8 MiB parts until it passes the limit. The name comes from `?name=` or `X-File-Name` (percent-encoded UTF-8). The type is sniffed from the bytes: a declared type that contradicts them, or one the purpose does not take, is 415. The storage used counts against the plan's `storageQuotaBytes` (403 `storage_quota_exceeded`).",
    request: {
      query: UploadQuery,
      body: { content: { "application/octet-stream": { schema: BinaryBody } }, required: true },
    },
    responses: { 201: jsonResponse(FileSchema, "The stored file") },
  },
  {
    scope: "files:write",
    rateLimit: "upload",
    errors: ["payload_too_large", "unsupported_media_type", "storage_quota_exceeded", "conflict", "validation_failed"],
  },
);

export const listFiles = authRoute(
  {
    method: "get",
    path: "/v1/files",
    tags: TAGS,
    summary: "The account's files, newest first, by cursor",
    request: { query: ListQuery },
    responses: { 200: jsonResponse(FileListSchema, "A page of files") },
  },
  { scope: "files:read" },
);

export const getFile = authRoute(
  {
    method: "get",
    path: "/v1/files/{id}",
    tags: TAGS,
    summary: "A file's metadata",
    request: { params: FileIdParams },
    responses: { 200: jsonResponse(FileSchema, "The file") },
  },
  { scope: "files:read" },
);

export const renameFile = authRoute(
  {
    method: "patch",
    path: "/v1/files/{id}",
    tags: TAGS,
    summary: "Rename a file (its uploader, or an org's owners and admins)",
    request: { params: FileIdParams, body: jsonRequestBody(RenameBody) },
    responses: { 200: jsonResponse(FileSchema, "The renamed file") },
  },
  { scope: "files:write" },
);

export const deleteFile = authRoute(
  {
    method: "delete",
    path: "/v1/files/{id}",
    tags: TAGS,
    summary: "Delete a file, its bytes and its links; its storage counts no more",
    request: { params: FileIdParams },
    responses: { 204: { description: "Deleted" } },
  },
  { scope: "files:write" },
);

export const fileContent = authRoute(
  {
    method: "get",
    path: "/v1/files/{id}/content",
    tags: TAGS,
    summary: "Download a file's bytes (Range, If-None-Match)",
    request: { params: FileIdParams },
    responses: CONTENT_RESPONSES,
  },
  { scope: "files:read", errors: ["range_not_satisfiable"] },
);

export const createLink = authRoute(
  {
    method: "post",
    path: "/v1/files/{id}/links",
    tags: TAGS,
    summary: "A signed link that opens the file without credentials, for up to 7 days",
    description: "Revoke one link with `DELETE /v1/files/{id}/links/{linkId}`; deleting the file revokes all of them.",
    request: { params: FileIdParams, body: jsonRequestBody(LinkBody) },
    responses: { 201: jsonResponse(LinkSchema, "The link") },
  },
  { scope: "files:write", errors: ["conflict"] },
);

export const listLinks = authRoute(
  {
    method: "get",
    path: "/v1/files/{id}/links",
    tags: TAGS,
    summary: "A file's links that have not expired, newest first",
    request: { params: FileIdParams },
    responses: { 200: jsonResponse(LinkListSchema, "The links") },
  },
  { scope: "files:read" },
);

export const revokeLink = authRoute(
  {
    method: "delete",
    path: "/v1/files/{id}/links/{linkId}",
    tags: TAGS,
    summary: "Revoke a link",
    request: { params: LinkParams },
    responses: { 204: { description: "Revoked" } },
  },
  { scope: "files:write" },
);

export const linkContent = defineRoute(
  {
    method: "get",
    path: "/v1/files/{id}/links/{linkId}/content",
    tags: TAGS,
    summary: "Open a signed link (no credentials; limited per IP)",
    description:
      "The URL `POST /v1/files/{id}/links` answered, as it is. A link that was revoked, expired, altered or whose file is gone is 404.",
    request: { params: LinkParams, query: LinkContentQuery },
    responses: CONTENT_RESPONSES,
  },
  { errors: ["not_found", "range_not_satisfiable"] },
);
