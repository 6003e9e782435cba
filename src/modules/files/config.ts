import { z } from "zod";
import { configFragment, httpsOnly, json } from "../../platform/config";

/** The zone's body limit is 100 MB: a single request's upload stays below it, in code (local dev has none). */
const MAX_SINGLE_UPLOAD_BYTES = 95 * 1024 * 1024;

const signingKey = z
  .object({
    kid: z.string().min(1).max(64),
    /** The HMAC-SHA-256 secret, at least 32 characters. */
    secret: z.string().min(32),
  })
  .strict();

/** Files' keys: the single-request upload cap, the keys that sign download links, their origin. */
export const filesConfig = configFragment({
  keys: {
    FILES_SINGLE_UPLOAD_MAX_BYTES: z.coerce
      .number()
      .int()
      .min(1)
      .max(MAX_SINGLE_UPLOAD_BYTES)
      .default(MAX_SINGLE_UPLOAD_BYTES),
    /** HMAC keys for signed links, current first (older ones still verify, for rotation); links need one. */
    FILES_SIGNING_KEYS: json(
      z
        .array(signingKey)
        .min(1, "needs at least one key")
        .refine((keys) => new Set(keys.map((key) => key.kid)).size === keys.length, "kids must be unique"),
    ).optional(),
    /** Another origin that serves signed links (say https://files.example.com, routed to this Worker). */
    FILES_PUBLIC_ORIGIN: z.url().optional(),
  },
  production: (config) =>
    config.FILES_PUBLIC_ORIGIN
      ? httpsOnly("FILES_PUBLIC_ORIGIN", [config.FILES_PUBLIC_ORIGIN], "a production origin must use https")
      : [],
});
