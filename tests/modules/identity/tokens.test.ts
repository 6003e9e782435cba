import { env } from "cloudflare:test";
import { importJWK, type JWK, SignJWT } from "jose";
import { afterEach, describe, expect, it } from "vitest";
import { testClock } from "../../../src/platform/clock";
import { api, expectProblem } from "../../helpers/client";
import { bearer, registerUser } from "../../helpers/identity";

afterEach(() => testClock.reset());

const keys = JSON.parse(env.JWT_SIGNING_KEYS) as (JWK & { kid: string })[];
const b64url = (value: unknown) =>
  btoa(JSON.stringify(value)).replaceAll("+", "-").replaceAll("/", "_").replaceAll("=", "");

/** A token like ours, with the given changes, signed by `key` (our current key by default). */
async function forge(
  claims: { sub: string; sid: string },
  changes: { iss?: string; aud?: string; exp?: number; key?: JWK & { kid: string } } = {},
) {
  const key = changes.key ?? (keys[0] as JWK & { kid: string });
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ sid: claims.sid })
    .setProtectedHeader({ alg: "EdDSA", kid: key.kid })
    .setIssuer(changes.iss ?? "stratus")
    .setAudience(changes.aud ?? "stratus-api")
    .setSubject(claims.sub)
    .setJti(crypto.randomUUID())
    .setIssuedAt(now)
    .setExpirationTime(changes.exp ?? now + 900)
    .sign(await importJWK({ ...key, alg: "EdDSA" }, "EdDSA"));
}

async function claimsOf(accessToken: string) {
  const payload = JSON.parse(atob((accessToken.split(".")[1] as string).replaceAll("-", "+").replaceAll("_", "/")));
  return { sub: payload.sub as string, sid: payload.sid as string };
}

const me = (token: string) => api("/v1/me", { headers: bearer(token) });

describe("access tokens", () => {
  it("carry kid, iss, aud, sub, sid, jti, iat and exp, and are accepted", async () => {
    const { tokens, user } = await registerUser();
    const [header, payload] = tokens.accessToken
      .split(".")
      .slice(0, 2)
      .map((part) => JSON.parse(atob(part.replaceAll("-", "+").replaceAll("_", "/"))));
    expect(header).toMatchObject({ alg: "EdDSA", kid: "test-key-current" });
    expect(payload).toMatchObject({
      iss: "stratus",
      aud: "stratus-api",
      sub: user.id,
      sid: expect.stringMatching(/^ses_/),
    });
    expect(payload.exp - payload.iat).toBe(900);
    expect(typeof payload.jti).toBe("string");
    expect((await me(tokens.accessToken)).status).toBe(200);
  });

  it("still verify when signed by the previous key (rotation)", async () => {
    const { tokens } = await registerUser();
    const token = await forge(await claimsOf(tokens.accessToken), { key: keys[1] });
    expect((await me(token)).status).toBe(200);
  });

  it("refuses alg none", async () => {
    const { tokens } = await registerUser();
    const claims = await claimsOf(tokens.accessToken);
    const now = Math.floor(Date.now() / 1000);
    const token = `${b64url({ alg: "none", typ: "JWT" })}.${b64url({ ...claims, iss: "stratus", aud: "stratus-api", jti: "x", iat: now, exp: now + 900 })}.`;
    expectProblem(await me(token), 401, "unauthorized");
  });

  it("refuses a token signed with another key, even under our kid", async () => {
    const { tokens } = await registerUser();
    const { privateKey } = (await crypto.subtle.generateKey({ name: "Ed25519" }, true, [
      "sign",
      "verify",
    ])) as CryptoKeyPair;
    const stranger = { ...((await crypto.subtle.exportKey("jwk", privateKey)) as JWK), kid: "test-key-current" };
    const token = await forge(await claimsOf(tokens.accessToken), { key: stranger });
    expectProblem(await me(token), 401, "unauthorized");
  });

  it("refuses an HS256 token whose secret is our public key", async () => {
    const { tokens } = await registerUser();
    const claims = await claimsOf(tokens.accessToken);
    const publicKey = (await api<{ keys: { x: string }[] }>("/.well-known/jwks.json")).body.keys[0]?.x as string;
    const now = Math.floor(Date.now() / 1000);
    const token = await new SignJWT({ sid: claims.sid })
      .setProtectedHeader({ alg: "HS256", kid: "test-key-current" })
      .setIssuer("stratus")
      .setAudience("stratus-api")
      .setSubject(claims.sub)
      .setJti("x")
      .setIssuedAt(now)
      .setExpirationTime(now + 900)
      .sign(new TextEncoder().encode(publicKey));
    expectProblem(await me(token), 401, "unauthorized");
  });

  it("refuses a wrong audience or issuer", async () => {
    const { tokens } = await registerUser();
    const claims = await claimsOf(tokens.accessToken);
    expectProblem(await me(await forge(claims, { aud: "someone-else" })), 401, "unauthorized");
    expectProblem(await me(await forge(claims, { iss: "https://evil.example" })), 401, "unauthorized");
  });

  it("expire after 15 minutes, with at most 60 s of skew", async () => {
    const { tokens } = await registerUser();
    testClock.advance(15 * 60 * 1000 + 30_000);
    expect((await me(tokens.accessToken)).status).toBe(200);
    testClock.advance(31_000);
    expectProblem(await me(tokens.accessToken), 401, "unauthorized");
  });

  it("expire on time when seen moments before (a verified token is remembered for 30 s)", async () => {
    const { tokens } = await registerUser();
    testClock.advance(15 * 60 * 1000 + 50_000);
    expect((await me(tokens.accessToken)).status).toBe(200);
    testClock.advance(11_000);
    expectProblem(await me(tokens.accessToken), 401, "unauthorized");
  });

  it("stop working for a disabled user within the cache bound", async () => {
    const { tokens, user } = await registerUser();
    expect((await me(tokens.accessToken)).status).toBe(200);
    await env.DB.prepare("UPDATE users SET disabled_at = 1 WHERE id = ?").bind(user.id).run();
    testClock.advance(31_000);
    expectProblem(await me(tokens.accessToken), 401, "unauthorized");
  });

  it("are required, in the Bearer form", async () => {
    const missing = await api("/v1/me");
    expectProblem(missing, 401, "unauthorized");
    expect(missing.headers.get("www-authenticate")).toContain("Bearer");
    expectProblem(await api("/v1/me", { headers: { authorization: "Basic dXNlcjpwYXNz" } }), 401, "unauthorized");
    expectProblem(await api("/v1/me", { headers: bearer("not.a.jwt") }), 401, "unauthorized");
  });
});

describe("GET /.well-known/jwks.json", () => {
  it("lists every verifying key, public parts only", async () => {
    const response = await api<{ keys: Record<string, string>[] }>("/.well-known/jwks.json");
    expect(response.status).toBe(200);
    expect(response.body.keys.map((key) => key.kid)).toEqual(["test-key-current", "test-key-previous"]);
    for (const key of response.body.keys) {
      expect(key).toEqual({
        kty: "OKP",
        crv: "Ed25519",
        x: expect.any(String),
        kid: key.kid,
        alg: "EdDSA",
        use: "sig",
      });
    }
    expect(response.headers.get("cache-control")).toBe("public, max-age=300");
  });
});
