import { authRoute } from "../../../middleware/auth";
import { defineRoute, jsonRequestBody, jsonResponse } from "../../../platform/openapi";
import { BinaryBody, FileSchema } from "../schema";
import {
  CompleteBody,
  PartParams,
  PartSchema,
  SessionParams,
  SessionSchema,
  SignedPutQuery,
  StartBody,
  UploadUrlBody,
  UploadUrlSchema,
} from "./schema";

const TAGS = ["Files"];
const rawBody = { content: { "application/octet-stream": { schema: BinaryBody } }, required: true };

export const startUpload = authRoute(
  {
    method: "post",
    path: "/v1/files/uploads",
    tags: TAGS,
    summary: "Start a resumable upload (big files, parts in any order and in parallel)",
    description:
      "Reserves the whole size against the storage quota at once. Then `PUT …/parts/{n}` for n = 1…`partCount` (each exactly `partSize` bytes, the last what is left), in any order, and `POST …/complete` listing every part's `etag`. An upload not completed within 24 hours is abandoned and its storage given back.",
    request: { body: jsonRequestBody(StartBody) },
    responses: { 201: jsonResponse(SessionSchema, "The upload: its part size and count") },
  },
  { scope: "files:write", rateLimit: "upload", errors: ["payload_too_large", "storage_quota_exceeded"] },
);

export const getUpload = authRoute(
  {
    method: "get",
    path: "/v1/files/uploads/{id}",
    tags: TAGS,
    summary: "A resumable upload and the parts stored so far (to resume)",
    request: { params: SessionParams },
    responses: { 200: jsonResponse(SessionSchema, "The upload") },
  },
  { scope: "files:write" },
);

export const putPart = authRoute(
  {
    method: "put",
    path: "/v1/files/uploads/{id}/parts/{number}",
    tags: TAGS,
    summary: "Store one part (exactly its size, with Content-Length); sending a part again replaces it",
    request: { params: PartParams, body: rawBody },
    responses: { 200: jsonResponse(PartSchema, "The stored part and its etag (for complete)") },
  },
  { scope: "files:write", rateLimit: "upload", errors: ["unsupported_media_type"] },
);

export const completeUpload = authRoute(
  {
    method: "post",
    path: "/v1/files/uploads/{id}/complete",
    tags: TAGS,
    summary: "Join the parts into the file",
    description:
      "Lists every part 1…`partCount` once with its etag. The file's `sha256` is null until computed, shortly after.",
    request: { params: SessionParams, body: jsonRequestBody(CompleteBody) },
    responses: { 201: jsonResponse(FileSchema, "The file") },
  },
  { scope: "files:write", errors: ["conflict"] },
);

export const abortUpload = authRoute(
  {
    method: "delete",
    path: "/v1/files/uploads/{id}",
    tags: TAGS,
    summary: "Abandon a resumable upload: its parts dropped, its storage given back",
    request: { params: SessionParams },
    responses: { 204: { description: "Abandoned" } },
  },
  { scope: "files:write" },
);

export const issueUploadUrl = authRoute(
  {
    method: "post",
    path: "/v1/files/upload-urls",
    tags: TAGS,
    summary: "A signed URL to PUT one file of this size and type, once, without credentials",
    description:
      "Its storage is reserved now (403 `storage_quota_exceeded` if it does not fit) until the URL expires; at most `FILES_SINGLE_UPLOAD_MAX_BYTES`.",
    request: { body: jsonRequestBody(UploadUrlBody) },
    responses: { 201: jsonResponse(UploadUrlSchema, "The URL and the headers its PUT must carry") },
  },
  { scope: "files:write", rateLimit: "upload", errors: ["payload_too_large", "storage_quota_exceeded"] },
);

export const putSigned = defineRoute(
  {
    method: "put",
    path: "/v1/files/upload-urls/{id}",
    tags: TAGS,
    summary: "Upload through a signed URL (no credentials)",
    description:
      "The URL `POST /v1/files/upload-urls` answered, with its headers. A URL used, expired or altered is 404; a body of another length or type is 400, bytes that are not the type 415.",
    request: { params: SessionParams, query: SignedPutQuery, body: rawBody },
    responses: { 201: jsonResponse(FileSchema, "The file") },
  },
  { rateLimit: "upload", errors: ["not_found", "unsupported_media_type", "conflict"] },
);
