import { api } from "./client";

export type Tokens = { accessToken: string; refreshToken: string; tokenType: string; expiresIn: number };
export type Registered = { user: { id: string; email: string }; tokens: Tokens; email: string; password: string };

let counter = 0;

/** A fresh user, registered through the API; each call gets its own email. */
export async function registerUser(overrides: { email?: string; password?: string; name?: string } = {}) {
  counter += 1;
  const email = overrides.email ?? `user${counter}-${crypto.randomUUID().slice(0, 8)}@example.com`;
  const password = overrides.password ?? "a long and unusual passphrase";
  const response = await api<{ user: Registered["user"]; tokens: Tokens }>("/v1/auth/register", {
    json: { email, password, name: overrides.name ?? "Test User" },
  });
  if (response.status !== 201) throw new Error(`register failed: ${response.status} ${response.text}`);
  return { ...response.body, email, password } satisfies Registered;
}

export const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/** The Authorization header of a registered user's access token. */
export const as = (user: Registered) => bearer(user.tokens.accessToken);

/** A fresh user promoted to platform admin, signed in again (the registration's session cache still says "user"). */
export async function platformAdmin(): Promise<Registered> {
  const admin = await registerUser({ email: `admin-${crypto.randomUUID().slice(0, 6)}@stratus.test` });
  const { env } = await import("cloudflare:test");
  await env.DB.prepare("UPDATE users SET role = 'admin' WHERE id = ?").bind(admin.user.id).run();
  const login = await api<{ tokens: Tokens }>("/v1/auth/login", {
    json: { email: admin.email, password: admin.password },
  });
  if (login.status !== 200) throw new Error(`admin login failed: ${login.status} ${login.text}`);
  return { ...admin, tokens: login.body.tokens };
}

/** The token in the newest email of `template` sent to `to` (read from the outbox). */
export async function emailedToken(to: string, template: string): Promise<string> {
  const { env } = await import("cloudflare:test");
  const row = await env.DB.prepare(
    "SELECT text_body FROM email_outbox WHERE to_address = ? AND template = ? ORDER BY created_at DESC, id DESC LIMIT 1",
  )
    .bind(to, template)
    .first<{ text_body: string | null }>();
  const token = /token=([A-Za-z0-9_-]+)/.exec(row?.text_body ?? "")?.[1];
  if (!token) throw new Error(`no ${template} email with a token for ${to}`);
  return token;
}
