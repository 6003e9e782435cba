import { describe, expect, it } from "vitest";
import { purgeOldUsage } from "../../../src/modules/ai/usage";
import { eventually, fund, openaiFor, usageRowsOf } from "../../helpers/ai";
import { api, expectProblem } from "../../helpers/client";
import { as, registerUser } from "../../helpers/identity";
import { expectMatrix, OWNERS_AND_ADMINS, roleMatrix } from "../../helpers/roles";
import { runtimeOf } from "../../helpers/runtime";

type Summary = {
  groupBy: string;
  items: { key: string; requests: number; charged: number }[];
  totals: { requests: number; charged: number; inputTokens: number };
};

const ask = (client: ReturnType<typeof openaiFor>, model: string) =>
  client.chat.completions.create({ model, messages: [{ role: "user", content: "How much?" }] });

describe("GET /v1/usage", () => {
  it("sums the caller's requests by model and by day", async () => {
    const user = await registerUser();
    await fund(user.user.id, 10_000_000);
    const client = openaiFor(user.tokens.accessToken);
    const answers = [
      await ask(client, "gpt-4o-mini"),
      await ask(client, "gpt-4o-mini"),
      await ask(client, "claude-3-5-haiku"),
    ];
    const charged = answers.reduce(
      (sum, answer) => sum + (answer.usage as unknown as { cost_millicredits: number }).cost_millicredits,
      0,
    );
    await eventually(
      () => usageRowsOf(user.user.id),
      (rows) => rows.length === 3,
    );
    const byModel = await api<Summary>("/v1/usage?groupBy=model", { headers: as(user) });
    expect(byModel.body.items.map((item) => [item.key, item.requests])).toEqual([
      ["claude-3-5-haiku", 1],
      ["gpt-4o-mini", 2],
    ]);
    expect(byModel.body.totals).toMatchObject({ requests: 3, charged });
    const byDay = await api<Summary>("/v1/usage", { headers: as(user) });
    expect(byDay.body.items).toEqual([
      expect.objectContaining({ key: new Date().toISOString().slice(0, 10), requests: 3 }),
    ]);
  });

  it("shows an org's usage to its owners and admins only", async () => {
    const cast = await roleMatrix({ scope: "ai" });
    const { org, owner, member, outsider } = cast;
    await fund(org.id, 10_000_000);
    await ask(openaiFor(member.tokens.accessToken, { "x-stratus-org": org.id }), "gpt-4o-mini");
    await eventually(
      () => usageRowsOf(org.id),
      (rows) => rows.length === 1,
    );
    const inOrg = (user: typeof owner) => ({ ...as(user), "x-stratus-org": org.id });
    const seen = await api<Summary>("/v1/usage", { headers: inOrg(owner) });
    expect(seen.body.totals.requests).toBe(1);
    expect((await api<Summary>("/v1/usage", { headers: as(member) })).body.totals.requests).toBe(0);
    expectProblem(await api("/v1/usage", { headers: inOrg(member) }), 403, "forbidden");
    expectProblem(await api("/v1/usage", { headers: inOrg(outsider) }), 404, "not_found");
    const answers = await expectMatrix<Summary>(cast, { path: "/v1/usage" }, OWNERS_AND_ADMINS);
    expect(answers.admin.body.totals.requests).toBe(1);
    expect(answers.keyWithScope.body.totals.requests).toBe(1);
  });

  it("refuses bad ranges and parameters with 400", async () => {
    const user = await registerUser();
    for (const query of [
      "from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z",
      "from=2020-01-01T00:00:00Z&to=2026-01-01T00:00:00Z",
      "from=yesterday",
      "groupBy=week",
      "extra=1",
    ]) {
      expectProblem(await api(`/v1/usage?${query}`, { headers: as(user) }), 400, "validation_failed");
    }
  });

  it("keeps usage rows for AI_USAGE_RETENTION_DAYS, then the cron deletes them", async () => {
    const user = await registerUser();
    await fund(user.user.id, 1_000_000);
    await ask(openaiFor(user.tokens.accessToken), "gpt-4o-mini");
    await eventually(
      () => usageRowsOf(user.user.id),
      (rows) => rows.length === 1,
    );
    const day = 86_400_000;
    const kept = await purgeOldUsage(runtimeOf(), Date.now() + 399 * day);
    expect(await usageRowsOf(user.user.id)).toHaveLength(1);
    expect(await purgeOldUsage(runtimeOf(), Date.now() + 401 * day)).toBeGreaterThan(kept);
    expect(await usageRowsOf(user.user.id)).toHaveLength(0);
  });
});
