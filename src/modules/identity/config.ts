import { z } from "zod";
import { configFragment, json } from "../../platform/config";

/** A private Ed25519 key as a JWK, with the `kid` tokens name it by. */
const signingKey = z.object({
  kty: z.literal("OKP"),
  crv: z.literal("Ed25519"),
  x: z.string().min(40),
  d: z.string().min(40),
  kid: z.string().min(1).max(64),
});
export type SigningKey = z.infer<typeof signingKey>;

/** Identity's keys: how access tokens are signed and refresh tokens rotate. */
export const identityConfig = configFragment({
  keys: {
    /** Signing keys, current first; the others still verify, so keys rotate without logging anyone out. */
    JWT_SIGNING_KEYS: json(
      z
        .array(signingKey)
        .min(1, "needs at least one key")
        .refine((keys) => new Set(keys.map((key) => key.kid)).size === keys.length, "kids must be unique"),
    ),
    JWT_ISSUER: z.string().min(1).default("stratus"),
    JWT_AUDIENCE: z.string().min(1).default("stratus-api"),
    REFRESH_REUSE_INTERVAL_SECONDS: z.coerce.number().int().min(0).max(300).default(10),
  },
});
