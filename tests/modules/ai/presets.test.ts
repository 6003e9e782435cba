import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { newId } from "../../../src/platform/ids";
import { type ApiRequest, api, expectProblem } from "../../helpers/client";
import { as, bearer, type Registered, registerUser } from "../../helpers/identity";
import { createOrg, join, type Org, verified } from "../../helpers/orgs";
import { expectMatrix, OWNERS_AND_ADMINS, roleMatrix } from "../../helpers/roles";

type Preset = {
  id: string;
  name: string;
  category: string;
  systemPrompt: string;
  model: string;
  parameters: Record<string, unknown>;
  visibility: "private" | "org";
  orgId: string | null;
  createdBy: string;
  createdAt: string;
  updatedAt: string;
};
type PresetList = { items: Preset[]; nextCursor: string | null };

const presets = <T = Preset>(path: string, request: ApiRequest = {}) => api<T>(path, request);

const preset = (overrides: Record<string, unknown> = {}) => ({
  name: "Support agent",
  category: "support",
  systemPrompt: "You answer support questions politely.",
  model: "gpt-4o-mini",
  parameters: { temperature: 0.2, maxTokens: 500, stop: ["END"] },
  ...overrides,
});

const inOrg = (user: Registered, org: Org) => ({ ...as(user), "x-stratus-org": org.id });

const countOwnedBy = async (ownerId: string) =>
  (await env.DB.prepare("SELECT count(*) AS n FROM ai_presets WHERE owner_id = ?").bind(ownerId).first<{ n: number }>())
    ?.n;

describe("presets of a user", () => {
  it("creates, reads, changes and deletes a private preset", async () => {
    const user = await registerUser();
    const created = await presets("/v1/presets", { json: preset(), headers: as(user) });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      id: expect.stringMatching(/^prs_[0-9A-Z]{26}$/),
      ...preset(),
      visibility: "private",
      orgId: null,
      createdBy: user.user.id,
    });
    expect(created.body.createdAt).toBe(created.body.updatedAt);
    const path = `/v1/presets/${created.body.id}`;
    expect((await presets(path, { headers: as(user) })).body).toEqual(created.body);

    const changed = await presets(path, {
      method: "PATCH",
      json: { name: "Support lead", parameters: { topP: 0.9 } },
      headers: as(user),
    });
    expect(changed.status).toBe(200);
    expect(changed.body).toMatchObject({ name: "Support lead", category: "support", parameters: { topP: 0.9 } });
    expect((await presets(path, { headers: as(user) })).body.name).toBe("Support lead");

    expect((await presets(path, { method: "DELETE", headers: as(user) })).status).toBe(204);
    expectProblem(await presets(path, { headers: as(user) }), 404, "not_found");
  });

  it("lists newest first, page by page, and by category", async () => {
    const user = await registerUser();
    const ids: string[] = [];
    for (const category of ["writing", "support", "writing"]) {
      ids.push((await presets("/v1/presets", { json: preset({ category }), headers: as(user) })).body.id);
    }
    const first = await presets<PresetList>("/v1/presets?limit=2", { headers: as(user) });
    expect(first.body.items.map((item) => item.id)).toEqual([ids[2], ids[1]]);
    expect(first.body.nextCursor).toEqual(expect.any(String));
    const second = await presets<PresetList>(`/v1/presets?limit=2&cursor=${first.body.nextCursor}`, {
      headers: as(user),
    });
    expect(second.body).toEqual({ items: [expect.objectContaining({ id: ids[0] })], nextCursor: null });

    const writing = await presets<PresetList>("/v1/presets?category=writing", { headers: as(user) });
    expect(writing.body.items.map((item) => item.id)).toEqual([ids[2], ids[0]]);
    const someoneElse = await registerUser();
    expect((await presets<PresetList>("/v1/presets", { headers: as(someoneElse) })).body.items).toEqual([]);
    expectProblem(
      await presets("/v1/presets?category=Not%20A%20Slug", { headers: as(user) }),
      400,
      "validation_failed",
    );
  });

  it("refuses bad bodies with 400 and writes nothing", async () => {
    const user = await registerUser();
    for (const body of [
      preset({ role: "admin" }),
      preset({ category: "Customer Support" }),
      preset({ parameters: { temperature: 3 } }),
      preset({ parameters: { seed: 1 } }),
      preset({ name: "" }),
      preset({ systemPrompt: "x".repeat(20_001) }),
      preset({ parameters: { stop: ["a", "b", "c", "d", "e"] } }),
    ]) {
      const problem = expectProblem(
        await presets("/v1/presets", { json: body, headers: as(user) }),
        400,
        "validation_failed",
      );
      expect(problem.errors).toEqual([expect.objectContaining({ path: expect.stringMatching(/^body/) })]);
    }
    expect(await countOwnedBy(user.user.id)).toBe(0);

    const created = await presets("/v1/presets", { json: preset(), headers: as(user) });
    const path = `/v1/presets/${created.body.id}`;
    for (const body of [{}, { visibility: "org" }, { parameters: { maxTokens: 0 } }]) {
      expectProblem(await presets(path, { method: "PATCH", json: body, headers: as(user) }), 400, "validation_failed");
    }
    expect((await presets(path, { headers: as(user) })).body).toEqual(created.body);
    expectProblem(await presets("/v1/presets/not-an-id", { headers: as(user) }), 400, "validation_failed");
  });

  it("hides another user's private preset: 404 to read, change or delete", async () => {
    const owner = await registerUser();
    const stranger = await registerUser();
    const created = await presets("/v1/presets", { json: preset(), headers: as(owner) });
    const path = `/v1/presets/${created.body.id}`;
    expectProblem(await presets(path, { headers: as(stranger) }), 404, "not_found");
    expectProblem(
      await presets(path, { method: "PATCH", json: { name: "Mine now" }, headers: as(stranger) }),
      404,
      "not_found",
    );
    expectProblem(await presets(path, { method: "DELETE", headers: as(stranger) }), 404, "not_found");
    expect((await presets(path, { headers: as(owner) })).body).toEqual(created.body);
  });

  it("needs a sign-in or an API key with the ai scope", async () => {
    const user = await registerUser();
    expectProblem(await presets("/v1/presets"), 401, "unauthorized");
    const key = async (scopes: string[]) =>
      (await api<{ secret: string }>("/v1/api-keys", { json: { name: "presets", scopes }, headers: as(user) })).body
        .secret;
    expect((await presets("/v1/presets", { json: preset(), headers: bearer(await key(["ai"])) })).status).toBe(201);
    expectProblem(await presets("/v1/presets", { headers: bearer(await key(["translate"])) }), 403, "forbidden");
  });

  it("keeps at most 500 presets per account: 409 past that", async () => {
    const user = await registerUser();
    const now = Date.now();
    const insert = env.DB.prepare(
      "INSERT INTO ai_presets (id, owner_id, visibility, name, category, system_prompt, model, parameters, created_by, created_at, updated_at) VALUES (?, ?, 'private', 'Filler', 'filler', '', 'gpt-4o-mini', '{}', ?, ?, ?)",
    );
    await env.DB.batch(
      Array.from({ length: 499 }, (_, i) => insert.bind(newId("prs", now + i), user.user.id, user.user.id, now, now)),
    );
    expect((await presets("/v1/presets", { json: preset(), headers: as(user) })).status).toBe(201);
    const refused = expectProblem(await presets("/v1/presets", { json: preset(), headers: as(user) }), 409, "conflict");
    expect(refused.detail).toContain("500 presets");
    expect(await countOwnedBy(user.user.id)).toBe(500);
  });
});

describe("presets shared with an org", () => {
  /** The role matrix's cast, and a fourth member who created a preset shared with the org. */
  async function orgWithPreset() {
    const cast = await roleMatrix({ scope: "ai", plan: "premium" }); // four members: more seats than the free plan's three
    const { owner, admin, member, outsider, org } = cast;
    const creator = await verified();
    await join(org, owner, creator, "member");
    const created = await presets("/v1/presets", {
      json: preset({ visibility: "org" }),
      headers: inOrg(creator, org),
    });
    expect(created.status).toBe(201);
    return { cast, owner, admin, creator, member, outsider, org, created: created.body };
  }

  it("is read by every member and nobody else", async () => {
    const { cast, creator, member, outsider, org, created } = await orgWithPreset();
    expect(created).toMatchObject({ visibility: "org", orgId: org.id, createdBy: creator.user.id });
    const path = `/v1/presets/${created.id}`;
    const read = await expectMatrix(
      cast,
      { path },
      {
        owner: 200,
        admin: 200,
        member: 200,
        outsider: [404, "not_found"],
        keyWithScope: 200,
        keyWithoutScope: [403, "forbidden"],
      },
    );
    expect(read.keyWithScope.body).toEqual(created);
    expect((await presets(path, { headers: inOrg(member, org) })).body).toEqual(created);
    const listed = await presets<PresetList>("/v1/presets", { headers: inOrg(member, org) });
    expect(listed.body.items).toEqual([created]);
    // The org's presets are not the creator's private ones.
    expect((await presets<PresetList>("/v1/presets", { headers: as(creator) })).body.items).toEqual([]);
    expectProblem(await presets(path, { headers: as(member) }), 404, "not_found");
    expectProblem(await presets(path, { headers: inOrg(outsider, org) }), 404, "not_found");
    expectProblem(await presets(path, { headers: as(outsider) }), 404, "not_found");
    expectProblem(await presets(path, { method: "DELETE", headers: as(outsider) }), 404, "not_found");
  });

  it("is changed by its creator and the org's owners and admins, not by other members", async () => {
    const { cast, owner, creator, member, org, created } = await orgWithPreset();
    const path = `/v1/presets/${created.id}`;
    const rename = (user: Registered, name: string) =>
      presets(path, { method: "PATCH", json: { name }, headers: inOrg(user, org) });
    // The owner's org key acts with the owner's role.
    const renamed = await expectMatrix(
      cast,
      (headers, role) => presets(path, { method: "PATCH", json: { name: `By the ${role}` }, headers }),
      OWNERS_AND_ADMINS,
    );
    expect(renamed.admin.body.name).toBe("By the admin");
    expectProblem(await presets(path, { method: "DELETE", headers: inOrg(member, org) }), 403, "forbidden");
    expect((await rename(creator, "By the creator")).body.name).toBe("By the creator");
    expect((await presets(path, { method: "DELETE", headers: inOrg(owner, org) })).status).toBe(204);
    expect(await countOwnedBy(org.id)).toBe(0);
  });

  it("needs X-Stratus-Org to share, and no org for a private preset", async () => {
    const user = await verified();
    const org = await createOrg(user);
    expectProblem(
      await presets("/v1/presets", { json: preset({ visibility: "org" }), headers: as(user) }),
      400,
      "validation_failed",
    );
    expectProblem(
      await presets("/v1/presets", { json: preset({ visibility: "private" }), headers: inOrg(user, org) }),
      400,
      "validation_failed",
    );
    expect(await countOwnedBy(org.id)).toBe(0);
    expect(await countOwnedBy(user.user.id)).toBe(0);
    // Without a visibility, the request's account decides.
    const shared = await presets("/v1/presets", { json: preset(), headers: inOrg(user, org) });
    expect(shared.body).toMatchObject({ visibility: "org", orgId: org.id });
  });
});
