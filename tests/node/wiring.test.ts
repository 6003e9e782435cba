import { describe, expect, inject, it } from "vitest";

/**
 * The deployable bundle wires its modules itself (`createApp` → `wireModules`): a request that
 * crosses modules through their ports works on it as built, with no test setup doing the wiring.
 */
const url = inject("workerUrl");

describe("the built Worker's composition root", () => {
  it("answers a route that needs another module's port (plans asks billing for the plan)", async () => {
    const registered = await fetch(`${url}/v1/auth/register`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        email: `wiring-${crypto.randomUUID()}@example.com`,
        password: "a long passphrase 1",
        name: "W",
      }),
    });
    expect(registered.status).toBe(201);
    const { tokens } = (await registered.json()) as { tokens: { accessToken: string } };
    const limits = await fetch(`${url}/v1/me/limits`, { headers: { authorization: `Bearer ${tokens.accessToken}` } });
    expect(limits.status).toBe(200);
    expect(await limits.json()).toMatchObject({ plan: { id: "free" } });
  });
});
