import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { api, expectProblem } from "../../helpers/client";
import { bearer, registerUser } from "../../helpers/identity";

const TABLES = [
  "users",
  "sessions",
  "email_tokens",
  "orgs",
  "memberships",
  "invitations",
  "api_keys",
  "audit_log",
  "email_outbox",
];

async function rowCounts() {
  const counts: Record<string, number> = {};
  for (const table of TABLES) {
    counts[table] = (await env.DB.prepare(`SELECT count(*) AS n FROM ${table}`).first<{ n: number }>())?.n ?? 0;
  }
  return counts;
}

describe("bad input on the identity endpoints", () => {
  it("answers 400 problem+json naming the field, and writes nothing", async () => {
    const user = await registerUser();
    const auth = bearer(user.tokens.accessToken);
    const org = (await api<{ id: string }>("/v1/orgs", { json: { name: "Bad Input Co" }, headers: auth })).body;
    const cases: [string, string, unknown, string][] = [
      ["POST", "/v1/auth/verify-email", { token: 42 }, "body.token"],
      ["POST", "/v1/auth/verify-email", { token: "x", extra: true }, "body"],
      ["POST", "/v1/auth/verify-email/resend", { email: "not-an-email" }, "body.email"],
      ["POST", "/v1/auth/password/reset", { token: "x" }, "body.password"],
      ["POST", "/v1/me/email", { newEmail: "nope", password: user.password }, "body.newEmail"],
      ["POST", "/v1/me/email", { newEmail: "ok@example.com" }, "body.password"],
      ["POST", "/v1/invitations/accept", { token: "" }, "body.token"],
      ["PATCH", `/v1/orgs/${org.id}`, { name: "x".repeat(101) }, "body.name"],
      ["PATCH", `/v1/orgs/${org.id}/members/${user.user.id}`, { role: "superuser" }, "body.role"],
      ["POST", `/v1/orgs/${org.id}/invitations`, { email: "a@example.com", role: "king" }, "body.role"],
      ["POST", "/v1/api-keys", { name: "k", scopes: ["ai"], orgId: "acme" }, "body.orgId"],
      ["POST", "/v1/api-keys", { name: "k", scopes: ["ai"], expiresAt: "2027-13-45" }, "body.expiresAt"],
      ["GET", "/v1/orgs?limit=0", undefined, "query.limit"],
      ["GET", "/v1/api-keys?cursor=%%%", undefined, "query.cursor"],
      ["DELETE", "/v1/api-keys/not-a-key", undefined, "path.id"],
    ];
    const before = await rowCounts();
    for (const [method, path, json, field] of cases) {
      const problem = expectProblem(await api(path, { method, json, headers: auth }), 400, "validation_failed");
      const paths = (problem.errors as { path: string }[]).map((error) => error.path);
      expect(paths, `${method} ${path}`).toContain(field);
    }
    expect(await rowCounts()).toEqual(before);
  });
});
