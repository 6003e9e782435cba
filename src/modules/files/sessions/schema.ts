import { z } from "@hono/zod-openapi";
import { FileName } from "../schema";
import { FILE_PURPOSES } from "../tables";
import { MAX_PART_BYTES, MIN_PART_BYTES } from "./resumable";
import { MAX_UPLOAD_URL_SECONDS } from "./signed";

const SessionId = z
  .string()
  .regex(/^upl_[0-9A-Za-z]{1,60}$/, "not an upl_ id")
  .openapi({ example: "upl_01JD7X2YQZ8M4K6T3N5P9R2B7C" });

export const SessionParams = z.object({ id: SessionId }).strict();
export const PartParams = z
  .object({ id: SessionId, number: z.coerce.number().int().openapi({ description: "1 to `partCount`" }) })
  .strict();

const Size = z.number().int().positive().openapi({ description: "Bytes", example: 52_428_800 });
const MediaType = z
  .string()
  .min(3)
  .max(255)
  .regex(/^[\w.+-]+\/[\w.+-]+$/, "a media type like application/pdf")
  .transform((type) => type.toLowerCase());

export const StartBody = z
  .object({
    name: FileName,
    size: Size,
    type: MediaType.optional().openapi({ description: "The declared type: the first part's bytes must be it" }),
    purpose: z.enum(FILE_PURPOSES),
    partSize: z
      .number()
      .int()
      .min(MIN_PART_BYTES)
      .max(MAX_PART_BYTES)
      .optional()
      .openapi({ description: "8 to 95 MiB; by default 8 MiB (more for files past 78 GiB, R2's 10 000 parts)" }),
  })
  .strict();

const PartSchema = z
  .object({ number: z.number().int(), size: z.number().int(), etag: z.string() })
  .openapi("UploadedPart");

export const SessionSchema = z
  .object({
    id: z.string(),
    fileId: z.string().openapi({ description: "The id the file will have once complete" }),
    name: z.string(),
    purpose: z.enum(FILE_PURPOSES),
    size: z.number().int(),
    partSize: z.number().int(),
    partCount: z.number().int(),
    parts: z.array(PartSchema).openapi({ description: "The parts stored so far: send the others, then complete" }),
    createdAt: z.string(),
    expiresAt: z.string(),
  })
  .openapi("ResumableUpload");

export { PartSchema };

export const CompleteBody = z
  .object({
    parts: z
      .array(z.object({ number: z.number().int().positive(), etag: z.string().min(1).max(256) }).strict())
      .min(1)
      .max(10_000),
  })
  .strict();

export const UploadUrlBody = z
  .object({
    name: FileName,
    size: Size,
    type: MediaType.openapi({ description: "The Content-Type the PUT must carry, and what its bytes must be" }),
    purpose: z.enum(FILE_PURPOSES),
    expiresIn: z
      .number()
      .int()
      .min(60)
      .max(MAX_UPLOAD_URL_SECONDS)
      .default(900)
      .openapi({ description: "Seconds the URL works, 60 to 3 600 (default 900)" }),
  })
  .strict();

export const UploadUrlSchema = z
  .object({
    id: z.string(),
    fileId: z.string(),
    method: z.literal("PUT"),
    url: z
      .string()
      .openapi({ description: "PUT the bytes here, with `headers`, once, before `expiresAt`; no credentials" }),
    headers: z.record(z.string(), z.string()),
    expiresAt: z.string(),
  })
  .openapi("UploadUrl");

export const SignedPutQuery = z
  .object({
    expires: z.coerce.number().int().positive(),
    kid: z.string().min(1).max(64),
    signature: z.string().min(1).max(128),
  })
  .strict();
