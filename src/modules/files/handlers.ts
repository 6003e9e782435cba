import type { RouteHandler } from "@hono/zod-openapi";
import type { Context } from "hono";
import { requestContextOf } from "../../middleware/auth";
import { readLimitedBytes } from "../../middleware/body-limits";
import type { AppEnv } from "../../platform/context";
import { AppError } from "../../platform/errors";
import { deliver } from "./download";
import { declaredLength, emptyFile } from "./inspect";
import * as links from "./links";
import type * as routes from "./routes";
import { FileName } from "./schema";
import * as service from "./service";
import { storeUpload } from "./upload";

type Handler<R extends keyof typeof routes> = RouteHandler<(typeof routes)[R], AppEnv>;

/** A multipart form is parsed whole in memory: bigger files go as the raw body. */
export const MAX_FORM_UPLOAD_BYTES = 10 * 1024 * 1024;

const nameFailure = (path: string, message: string) =>
  new AppError("validation_failed", `The file name is not acceptable: ${message}.`, { errors: [{ path, message }] });

/** The name from `?name=`, else `X-File-Name` (percent-encoded UTF-8), else a form part's own. */
function nameOf(c: Context<AppEnv>, fromQuery: string | undefined, fromPart?: string): string {
  if (fromQuery !== undefined) return fromQuery;
  const header = c.req.header("x-file-name");
  let raw = fromPart;
  let path = "body.file";
  if (header !== undefined) {
    path = "header.x-file-name";
    try {
      raw = decodeURIComponent(header);
    } catch {
      throw nameFailure(path, "X-File-Name must be percent-encoded UTF-8");
    }
  }
  if (raw === undefined) throw nameFailure("query.name", "name the file with ?name= or X-File-Name");
  const parsed = FileName.safeParse(raw);
  if (!parsed.success) throw nameFailure(path, parsed.error.issues[0]?.message ?? "invalid");
  return parsed.data;
}

export const uploadFile: Handler<"uploadFile"> = async (c) => {
  const query = c.req.valid("query");
  const ctx = requestContextOf(c);
  const declaredType = c.req.header("content-type") ?? null;
  if (declaredType?.split(";")[0]?.trim().toLowerCase() === "multipart/form-data") {
    const bytes = await readLimitedBytes(c.req.raw, MAX_FORM_UPLOAD_BYTES).catch((error: unknown) => {
      if (error instanceof AppError && error.code === "payload_too_large") {
        throw new AppError(
          "payload_too_large",
          `A multipart/form-data upload may be at most ${MAX_FORM_UPLOAD_BYTES} bytes: send the file as the raw body instead.`,
          { extensions: { limit: "multipart_form", allowed: MAX_FORM_UPLOAD_BYTES } },
        );
      }
      throw error;
    });
    const file = await onlyFileOf(bytes, declaredType);
    const stored = await storeUpload(ctx, {
      name: nameOf(c, query.name, file.name),
      purpose: query.purpose,
      declaredType: file.type || null,
      length: file.size,
      body: file.stream(),
    });
    return c.json(service.publicFile(stored), 201);
  }
  const length = declaredLength(c.req.raw);
  const body = c.req.raw.body;
  if (!body) throw emptyFile();
  const stored = await storeUpload(ctx, {
    name: nameOf(c, query.name),
    purpose: query.purpose,
    declaredType,
    length,
    body,
  });
  return c.json(service.publicFile(stored), 201);
};

/** The one file part of a form (400 for none, several, or a form that does not parse). */
async function onlyFileOf(bytes: Uint8Array, contentType: string): Promise<File> {
  let form: FormData;
  try {
    form = await new Response(bytes, { headers: { "content-type": contentType } }).formData();
  } catch {
    throw new AppError("validation_failed", "The multipart/form-data body does not parse.", {
      errors: [{ path: "body", message: "malformed multipart body" }],
    });
  }
  const parts = [...form.values()].filter((value): value is File => typeof value !== "string");
  if (parts.length !== 1) {
    throw new AppError("validation_failed", "A multipart upload carries exactly one file part.", {
      errors: [{ path: "body", message: `${parts.length} file parts` }],
    });
  }
  return parts[0] as File;
}

export const listFiles: Handler<"listFiles"> = async (c) =>
  c.json(await service.listFiles(requestContextOf(c), c.req.valid("query")), 200);

export const getFile: Handler<"getFile"> = async (c) =>
  c.json(service.publicFile(await service.readableFile(requestContextOf(c), c.req.valid("param").id)), 200);

export const renameFile: Handler<"renameFile"> = async (c) =>
  c.json(await service.renameFile(requestContextOf(c), c.req.valid("param").id, c.req.valid("json").name), 200);

export const deleteFile: Handler<"deleteFile"> = async (c) => {
  await service.deleteFile(requestContextOf(c), c.req.valid("param").id);
  return c.body(null, 204);
};

export const fileContent: Handler<"fileContent"> = async (c) => {
  const file = await service.readableFile(requestContextOf(c), c.req.valid("param").id);
  const delivery = {
    disposition: "attachment",
    resourcePolicy: "same-origin",
    cacheControl: "private, no-cache",
  } as const;
  return (await deliver(c.env, file, c.req.raw, delivery)) as never;
};

const originOf = (c: Context<AppEnv>) => new URL(c.req.url).origin;

export const createLink: Handler<"createLink"> = async (c) =>
  c.json(await links.createLink(requestContextOf(c), originOf(c), c.req.valid("param").id, c.req.valid("json")), 201);

export const listLinks: Handler<"listLinks"> = async (c) =>
  c.json(await links.listLinks(requestContextOf(c), originOf(c), c.req.valid("param").id), 200);

export const revokeLink: Handler<"revokeLink"> = async (c) => {
  const { id, linkId } = c.req.valid("param");
  await links.revokeLink(requestContextOf(c), id, linkId);
  return c.body(null, 204);
};

export const linkContent: Handler<"linkContent"> = async (c) => {
  const { id, linkId } = c.req.valid("param");
  const { expires, disposition, kid, signature } = c.req.valid("query");
  const ctx = { env: c.env, config: c.get("config") };
  const file = await links.fileOfLink(ctx, { fileId: id, linkId, expires, disposition }, { kid, signature });
  // Revalidated each time (the ETag makes it cheap): a revoked link stops at once.
  const delivery = { disposition, resourcePolicy: "cross-origin", cacheControl: "private, no-cache" } as const;
  return (await deliver(c.env, file, c.req.raw, delivery)) as never;
};
