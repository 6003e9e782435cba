import { describe, expect, inject, it } from "vitest";

/** The mechanism later adapters' tests use: a fake external API on 127.0.0.1, reached from workerd. */
describe("fake upstream server", () => {
  const base = inject("fakeUpstreamUrl");
  const prefix = `/fake-self-test-${crypto.randomUUID()}`;

  it("answers scripted routes and records the calls it received", async () => {
    const script = { method: "POST", path: `${prefix}/v1/things`, status: 201, body: { id: "t_1" }, times: 1 };
    const scripted = await fetch(`${base}/__control/script`, { method: "POST", body: JSON.stringify(script) });
    expect(scripted.status).toBe(204);

    const first = await fetch(`${base}${prefix}/v1/things`, { method: "POST", body: '{"name":"x"}' });
    expect(first.status).toBe(201);
    expect(await first.json()).toEqual({ id: "t_1" });
    const second = await fetch(`${base}${prefix}/v1/things`, { method: "POST", body: "{}" });
    expect(second.status).toBe(501);

    const calls = (await (await fetch(`${base}/__control/calls?prefix=${prefix}`)).json()) as { body: string }[];
    expect(calls.map((call) => call.body)).toEqual(['{"name":"x"}', "{}"]);
  });
});
