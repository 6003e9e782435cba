import type { RouteHandler } from "@hono/zod-openapi";
import { requestContextOf } from "../../../middleware/auth";
import type { AppEnv } from "../../../platform/context";
import { declaredLength, emptyFile } from "../inspect";
import { publicFile } from "../service";
import { abortResumable, completeResumable, resumableOf, startResumable, putPart as storePart } from "./resumable";
import type * as routes from "./routes";
import { issueUploadUrl as issue, putSigned as storeSigned } from "./signed";

type Handler<R extends keyof typeof routes> = RouteHandler<(typeof routes)[R], AppEnv>;

/** The request's body and its declared length (digits only, else 400). */
function bodyOf(request: Request) {
  const length = declaredLength(request);
  if (!request.body) throw emptyFile();
  return {
    length,
    type: request.headers.get("content-type"),
    stream: request.body,
  };
}

export const startUpload: Handler<"startUpload"> = async (c) =>
  c.json(await startResumable(requestContextOf(c), c.req.valid("json")), 201);

export const getUpload: Handler<"getUpload"> = async (c) =>
  c.json(await resumableOf(requestContextOf(c), c.req.valid("param").id), 200);

export const putPart: Handler<"putPart"> = async (c) => {
  const { id, number } = c.req.valid("param");
  return c.json(await storePart(requestContextOf(c), id, number, bodyOf(c.req.raw)), 200);
};

export const completeUpload: Handler<"completeUpload"> = async (c) => {
  const file = await completeResumable(requestContextOf(c), c.req.valid("param").id, c.req.valid("json").parts);
  return c.json(publicFile(file), 201);
};

export const abortUpload: Handler<"abortUpload"> = async (c) => {
  await abortResumable(requestContextOf(c), c.req.valid("param").id);
  return c.body(null, 204);
};

export const issueUploadUrl: Handler<"issueUploadUrl"> = async (c) =>
  c.json(await issue(requestContextOf(c), new URL(c.req.url).origin, c.req.valid("json")), 201);

export const putSigned: Handler<"putSigned"> = async (c) => {
  const file = await storeSigned(
    c.env,
    c.get("config"),
    c.req.valid("param").id,
    c.req.valid("query"),
    bodyOf(c.req.raw),
  );
  return c.json(publicFile(file), 201);
};
