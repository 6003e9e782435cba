import { z } from "@hono/zod-openapi";
import { PaginationQuery } from "../../platform/pagination";
import { MAX_LINK_SECONDS } from "./links";
import { MAX_NAME_CHARS, nameProblem } from "./names";
import { FILE_PURPOSES } from "./tables";

const Purpose = z.enum(FILE_PURPOSES).openapi({
  description:
    "What the file is for; it decides the types accepted: `compression` (JPEG, PNG, WebP, GIF, PDF), `avatar` (JPEG, PNG, WebP, GIF), `document` (PDF, DOCX), `submission` (PDF, DOCX, images, plain text, ZIP), `attachment` (anything, served only as a download).",
});

/** A file name as sent: NFC-normalised, then refused when it could mislead (names.ts). */
export const FileName = z
  .string()
  .max(MAX_NAME_CHARS * 4)
  .transform((name) => name.normalize("NFC"))
  .superRefine((name, ctx) => {
    const problem = nameProblem(name);
    if (problem) ctx.addIssue({ code: "custom", message: problem });
  })
  .openapi({
    example: "report.pdf",
    description: `At most ${MAX_NAME_CHARS} characters; no / \\ or control characters.`,
  });

const Id = (prefix: string) =>
  z
    .string()
    .regex(new RegExp(`^${prefix}_[0-9A-Za-z]{1,60}$`), `not a ${prefix}_ id`)
    .openapi({ example: `${prefix}_01JD7X2YQZ8M4K6T3N5P9R2B7C` });

export const FileIdParams = z.object({ id: Id("file") }).strict();
export const LinkParams = z.object({ id: Id("file"), linkId: Id("lnk") }).strict();

export const UploadQuery = z
  .object({
    name: FileName.optional().openapi({
      description: "The file's name (percent-encoded in the URL). Or send `X-File-Name`, percent-encoded UTF-8.",
    }),
    purpose: Purpose,
  })
  .strict();

export const ListQuery = PaginationQuery.extend({ purpose: Purpose.optional() }).strict();

export const RenameBody = z.object({ name: FileName }).strict();

export const FileSchema = z
  .object({
    id: z.string().openapi({ example: "file_01JD7X2YQZ8M4K6T3N5P9R2B7C" }),
    accountId: z.string(),
    purpose: z.enum(FILE_PURPOSES),
    name: z.string(),
    contentType: z
      .string()
      .openapi({ description: "What the bytes are, sniffed from them", example: "application/pdf" }),
    size: z.number().int().openapi({ description: "Bytes" }),
    sha256: z.string().nullable().openapi({
      description:
        "Hex SHA-256 of the bytes (the download's ETag); null for a moment after a resumable upload, until it is computed",
    }),
    uploadedBy: z.string(),
    createdAt: z.string(),
    updatedAt: z.string(),
    expiresAt: z
      .string()
      .nullable()
      .openapi({ description: "When it is deleted by retention (files to compress: the plan's days); null: kept" }),
    attachedTo: z.object({ kind: z.string(), id: z.string() }).nullable().openapi({
      description: "The resource it is attached to (a submission…), whose module says who else may read it",
    }),
  })
  .openapi("File");

export const FileListSchema = z
  .object({ items: z.array(FileSchema), nextCursor: z.string().nullable() })
  .openapi("FileList");

export const LinkBody = z
  .object({
    expiresIn: z
      .number()
      .int()
      .min(60)
      .max(MAX_LINK_SECONDS)
      .openapi({ description: "Seconds the link works, 60 to 604 800 (7 days)", example: 3600 }),
    disposition: z
      .enum(["attachment", "inline"])
      .default("attachment")
      .openapi({ description: "`inline` shows raster images in the browser; every other type stays a download" }),
  })
  .strict();

export const LinkSchema = z
  .object({
    id: z.string().openapi({ example: "lnk_01JD7X2YQZ8M4K6T3N5P9R2B7C" }),
    fileId: z.string(),
    disposition: z.enum(["attachment", "inline"]),
    url: z.string().openapi({ description: "Opens the file without credentials until `expiresAt`" }),
    createdBy: z.string(),
    createdAt: z.string(),
    expiresAt: z.string(),
  })
  .openapi("FileLink");

export const LinkListSchema = z.object({ items: z.array(LinkSchema) }).openapi("FileLinkList");

export const LinkContentQuery = z
  .object({
    expires: z.coerce.number().int().positive(),
    disposition: z.enum(["attachment", "inline"]),
    kid: z.string().min(1).max(64),
    signature: z.string().min(1).max(128),
  })
  .strict();

export const BinaryBody = z.string().openapi({ format: "binary" });
