import { createLocalJWKSet, importJWK, type JWK, jwtVerify, SignJWT } from "jose";
import type { Config } from "../../env";
import { clock } from "../../platform/clock";
import { AppError } from "../../platform/errors";
import { TtlCache } from "../../platform/ttl-cache";
import type { SigningKey } from "./config";

/**
 * Access tokens: EdDSA (Ed25519) JWTs with `kid`, `iss`, `aud`, `sub` (user), `sid`
 * (session), `jti`, `iat` and `exp` (15 minutes). The first key of JWT_SIGNING_KEYS signs;
 * every key verifies, so adding a key in front rotates without logging anyone out.
 * Verification pins the algorithm (no `none`, no HS256 made with a public key) and checks
 * issuer, audience and expiry with at most 60 s of skew.
 */

const ACCESS_TOKEN_TTL_SECONDS = 15 * 60;
const CLOCK_SKEW_SECONDS = 60;
const ALGORITHM = "EdDSA";

type PublicJwk = { kty: string; crv: string; x: string; kid: string; alg: string; use: string };

type KeyRing = {
  kid: string;
  signingKey: CryptoKey;
  publicKeys: PublicJwk[];
  verifier: ReturnType<typeof createLocalJWKSet>;
};

const rings = new WeakMap<readonly SigningKey[], Promise<KeyRing>>();

async function buildRing(keys: readonly SigningKey[]): Promise<KeyRing> {
  const [current] = keys;
  if (!current) throw new Error("JWT_SIGNING_KEYS is empty");
  const publicKeys = keys.map(({ kty, crv, x, kid }): PublicJwk => ({ kty, crv, x, kid, alg: ALGORITHM, use: "sig" }));
  return {
    kid: current.kid,
    signingKey: (await importJWK({ ...current, alg: ALGORITHM }, ALGORITHM)) as CryptoKey,
    publicKeys,
    verifier: createLocalJWKSet({ keys: publicKeys as JWK[] }),
  };
}

/** Keys are imported once per isolate (per parsed configuration). */
function keyRing(config: Config): Promise<KeyRing> {
  let ring = rings.get(config.JWT_SIGNING_KEYS);
  if (!ring) {
    ring = buildRing(config.JWT_SIGNING_KEYS);
    rings.set(config.JWT_SIGNING_KEYS, ring);
  }
  return ring;
}

export async function publicJwks(config: Config): Promise<{ keys: PublicJwk[] }> {
  return { keys: (await keyRing(config)).publicKeys };
}

export async function signAccessToken(config: Config, claims: { userId: string; sessionId: string }) {
  const ring = await keyRing(config);
  const issuedAt = Math.floor(clock.now() / 1000);
  const token = await new SignJWT({ sid: claims.sessionId })
    .setProtectedHeader({ alg: ALGORITHM, kid: ring.kid, typ: "JWT" })
    .setIssuer(config.JWT_ISSUER)
    .setAudience(config.JWT_AUDIENCE)
    .setSubject(claims.userId)
    .setJti(crypto.randomUUID())
    .setIssuedAt(issuedAt)
    .setExpirationTime(issuedAt + ACCESS_TOKEN_TTL_SECONDS)
    .sign(ring.signingKey);
  return { token, expiresIn: ACCESS_TOKEN_TTL_SECONDS };
}

type AccessClaims = { userId: string; sessionId: string };

/**
 * Tokens whose signature and claims were verified, per key ring: the same bytes verify the same
 * way, so a token seen again within `VERIFIED_TTL_MS` is checked for its expiry alone (the
 * session behind it is checked on every request all the same, by the authenticator). Only
 * valid tokens are kept, so a flood of bad ones cannot fill it.
 */
const VERIFIED_TTL_MS = 30_000;
const verifiedTokens = new WeakMap<KeyRing, TtlCache<AccessClaims & { expiresAt: number }>>();

/** The token's user and session, or 401: the reason stays server-side. */
export async function verifyAccessToken(config: Config, token: string): Promise<AccessClaims> {
  const ring = await keyRing(config);
  let verified = verifiedTokens.get(ring);
  if (!verified) {
    verified = new TtlCache(VERIFIED_TTL_MS, 5_000);
    verifiedTokens.set(ring, verified);
  }
  const seen = verified.get(token);
  if (seen && seen.expiresAt + CLOCK_SKEW_SECONDS * 1000 > clock.now()) {
    return { userId: seen.userId, sessionId: seen.sessionId };
  }
  try {
    const { payload } = await jwtVerify(token, ring.verifier, {
      algorithms: [ALGORITHM],
      issuer: config.JWT_ISSUER,
      audience: config.JWT_AUDIENCE,
      clockTolerance: CLOCK_SKEW_SECONDS,
      currentDate: new Date(clock.now()),
      requiredClaims: ["sub", "sid", "jti", "iat", "exp"],
    });
    if (typeof payload.sub !== "string" || typeof payload.sid !== "string") throw new Error("claims are not strings");
    const claims = { userId: payload.sub, sessionId: payload.sid };
    verified.set(token, { ...claims, expiresAt: (payload.exp ?? 0) * 1000 });
    return claims;
  } catch (error) {
    throw new AppError("unauthorized", "The access token is invalid or expired.", { cause: error });
  }
}
