import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import seed from "../../../seed/010_dev_users.sql?raw";
import { api } from "../../helpers/client";

/** The development seed matches the schema, is idempotent, and its README credentials work. */
describe("development seed", () => {
  it("applies twice without change, and its users sign in with the README passwords", async () => {
    const statement = seed.replace(/^--.*$/gm, "").trim();
    await env.DB.prepare(statement).run();
    await env.DB.prepare(statement).run();
    const count = await env.DB.prepare("SELECT count(*) AS n FROM users WHERE email LIKE '%@stratus.local'").first<{
      n: number;
    }>();
    expect(count?.n).toBe(2);
    const admin = await api<{ user: { role: string; emailVerified: boolean } }>("/v1/auth/login", {
      json: { email: "admin@stratus.local", password: "stratus-admin-dev-password" },
    });
    expect(admin.status).toBe(200);
    expect(admin.body.user).toMatchObject({ role: "admin", emailVerified: true });
    const demo = await api<{ user: { role: string } }>("/v1/auth/login", {
      json: { email: "demo@stratus.local", password: "stratus-demo-dev-password" },
    });
    expect(demo.body.user.role).toBe("user");
  });
});
